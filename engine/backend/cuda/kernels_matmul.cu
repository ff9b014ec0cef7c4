// matmul and get_rows: the kernels that read weight rows of every weight type (the table of
// engine/core/weight_types.def), decoding one element at a time with load_element. Correctness first: one warp computes
// one output value, its lanes striding over the row, so each weight row is read once per token.

#include "engine/backend/cuda/device_common.cuh"

namespace vkgraph::cuda {
namespace {

constexpr int kWarpsPerBlock = kBlock / 32;

// Row `o` of token `i` of a low-rank tail: factor * sum_j b[o][j] t[i][j] (0 without one), summed by
// one lane (a rank is a few to a few dozen).
__device__ float tail_value(const LowRankTail& tail, int64_t i, int64_t o) {
  if (tail.b == nullptr) return 0.0f;
  const auto* b = static_cast<const uint8_t*>(tail.b) + size_t(o) * size_t(tail.rank) * 2;
  const float* t = tail.t + i * tail.rank;
  float sum = 0.0f;
  for (int64_t j = 0; j < tail.rank; ++j) sum += load_element<DType::F16>(b, j) * t[j];
  return sum * tail.factor;
}

// w: [n_out, n_in] (W, rows of w_row bytes), x: [m, n_in] (X) -> y: [m, n_out] (+ tail)
template <DType W, DType X>
__global__ void matmul_kernel(const uint8_t* w, size_t w_row, const uint8_t* x, float* y, int64_t m, int64_t n_in,
                              int64_t n_out, LowRankTail tail) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
  const size_t x_row = size_t(n_in) * (X == DType::F16 ? 2 : 4);
  for (int64_t item = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; item < m * n_out; item += warps) {
    const int64_t i = item / n_out, o = item % n_out;  // neighbouring warps share x row i
    const uint8_t* wr = w + size_t(o) * w_row;
    const uint8_t* xr = x + size_t(i) * x_row;
    float sum = 0.0f;
    for (int64_t k = lane; k < n_in; k += 32) sum += load_element<X>(xr, k) * load_element<W>(wr, k);
    sum = warp_sum(sum);
    if (lane == 0) y[i * n_out + o] = sum + tail_value(tail, i, o);
  }
}

// One warp's dot product of x row xr and weight row wr (n_in of them), summed over the warp.
template <DType W, DType X>
__device__ float warp_dot(const uint8_t* wr, const uint8_t* xr, int64_t n_in, int lane) {
  float sum = 0.0f;
  for (int64_t k = lane; k < n_in; k += 32) sum += load_element<X>(xr, k) * load_element<W>(wr, k);
  return warp_sum(sum);
}

struct GroupWeights {
  const uint8_t* w[3];
  LowRankTail tails[3];
  int64_t rows[3];
  int count;
  size_t w_row;  // bytes of one row (every weight has n_in columns)
};

// matmul_cat: y [m, n_total] = x w_i^T side by side; matmul_swiglu (swiglu, two weights):
// y [m, rows[0]] = silu(x w_0^T) * (x w_1^T), silu as the swiglu kernel computes it.
template <DType W, DType X>
__global__ void matmul_group_kernel(GroupWeights g, const uint8_t* x, float* y, int64_t m, int64_t n_in,
                                    int64_t n_total, bool swiglu) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
  const size_t x_row = size_t(n_in) * (X == DType::F16 ? 2 : 4);
  for (int64_t item = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; item < m * n_total; item += warps) {
    const int64_t i = item / n_total, o = item % n_total;
    const uint8_t* xr = x + size_t(i) * x_row;
    if (swiglu) {
      const float gate = warp_dot<W, X>(g.w[0] + size_t(o) * g.w_row, xr, n_in, lane);
      const float up = warp_dot<W, X>(g.w[1] + size_t(o) * g.w_row, xr, n_in, lane);
      if (lane == 0) {
        const float g_t = gate + tail_value(g.tails[0], i, o), u_t = up + tail_value(g.tails[1], i, o);
        y[i * n_total + o] = g_t / (1.0f + expf(-g_t)) * u_t;
      }
      continue;
    }
    int which = 0;
    int64_t row = o;  // the row inside weight `which`
    while (which + 1 < g.count && row >= g.rows[which]) row -= g.rows[which++];
    const float sum = warp_dot<W, X>(g.w[which] + size_t(row) * g.w_row, xr, n_in, lane);
    if (lane == 0) y[i * n_total + o] = sum + tail_value(g.tails[which], i, row);
  }
}

// table: [n_rows, n] (T, rows of row_bytes), ids: [m] -> out: [m, n]
template <DType T>
__global__ void get_rows_kernel(const uint8_t* table, size_t row_bytes, int64_t n_rows, int64_t n, const int32_t* ids,
                                int64_t m, float* out, int* error, int code) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < m * n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e / n, c = e % n;
    const int32_t id = ids[i];
    if (id < 0 || id >= n_rows) {
      report_bad_index(error, code);
      out[e] = 0.0f;
      continue;
    }
    out[e] = load_element<T>(table + size_t(id) * row_bytes, c);
  }
}

}  // namespace

void launch_matmul(const Launch& l, DType w_type, const void* w, DType x_type, const void* x, float* y, int64_t m,
                   int64_t n_in, int64_t n_out, const LowRankTail& tail) {
  const unsigned grid = grid_for(m * n_out, kWarpsPerBlock);
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const size_t w_row = row_bytes(w_type, size_t(n_in));
  dispatch_weight_type(w_type, [&](auto weight) {
    constexpr DType W = decltype(weight)::value;
    if (x_type == DType::F16) {
      matmul_kernel<W, DType::F16><<<grid, kBlock, 0, l.stream>>>(wb, w_row, xb, y, m, n_in, n_out, tail);
    } else {
      matmul_kernel<W, DType::F32><<<grid, kBlock, 0, l.stream>>>(wb, w_row, xb, y, m, n_in, n_out, tail);
    }
  });
}

void launch_matmul_group(const Launch& l, const MatmulGroupArgs& a) {
  GroupWeights g{};
  g.count = a.count;
  g.w_row = row_bytes(a.w_type, size_t(a.n_in));
  int64_t n_total = 0;
  for (int i = 0; i < a.count && i < 3; ++i) {
    g.w[i] = static_cast<const uint8_t*>(a.w[i]);
    g.tails[i] = a.tails[i];
    g.rows[i] = a.rows[i];
    n_total += a.rows[i];
  }
  if (a.swiglu) n_total = a.rows[0];
  const unsigned grid = grid_for(a.m * n_total, kWarpsPerBlock);
  const auto* xb = static_cast<const uint8_t*>(a.x);
  dispatch_weight_type(a.w_type, [&](auto weight) {
    constexpr DType W = decltype(weight)::value;
    if (a.x_type == DType::F16) {
      matmul_group_kernel<W, DType::F16><<<grid, kBlock, 0, l.stream>>>(g, xb, a.y, a.m, a.n_in, n_total, a.swiglu);
    } else {
      matmul_group_kernel<W, DType::F32><<<grid, kBlock, 0, l.stream>>>(g, xb, a.y, a.m, a.n_in, n_total, a.swiglu);
    }
  });
}

void launch_get_rows(const Launch& l, DType table_type, const void* table, int64_t n_rows, int64_t n,
                     const int32_t* ids, int64_t m, float* out) {
  const auto* tb = static_cast<const uint8_t*>(table);
  const size_t row = row_bytes(table_type, size_t(n));
  dispatch_weight_type(table_type, [&](auto table_tag) {
    constexpr DType T = decltype(table_tag)::value;
    get_rows_kernel<T>
        <<<grid_for(m * n), kBlock, 0, l.stream>>>(tb, row, n_rows, n, ids, m, out, l.error, l.error_code);
  });
}

}  // namespace vkgraph::cuda
