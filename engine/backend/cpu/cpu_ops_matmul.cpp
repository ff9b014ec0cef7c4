// matmul and get_rows: the ops that read (possibly quantized) weight rows. Weights are
// dequantized one row at a time with the reference decoder of engine/core/quant.h.

#include <cmath>
#include <vector>

#include "engine/backend/cpu/cpu_ops.h"
#include "engine/backend/cpu/parallel.h"
#include "engine/core/error.h"
#include "engine/core/quant.h"

namespace vkgraph::cpu {

namespace {

// Activations [m, n_in] (f32 or f16) as f32, once per op.
std::vector<float> activations_f32(const Node& x_node, const std::byte* x_bytes, size_t m, size_t n_in) {
  std::vector<float> x(m * n_in);
  dequantize_row(x_node.dtype, x_bytes, x.data(), m * n_in);
  return x;
}

// y[i * y_stride + o] = sum_k x[i][k] * w[o][k] (+ r[i * y_stride + o]), each sum in double and
// rounded once to f32. w: [n_out, n_in] bytes of w_node's type, x: [m, n_in] f32.
void matmul_into(const Node& w_node, const std::byte* w_bytes, const std::vector<float>& x, size_t m, float* y,
                 size_t y_stride, const float* r) {
  const auto n_out = size_t(w_node.shape[0]);
  const auto n_in = size_t(w_node.shape[1]);
  const size_t w_row = row_bytes(w_node.dtype, n_in);
  parallel_for(n_out, m * n_in, [&](size_t begin, size_t end) {
    std::vector<float> w(n_in);
    for (size_t o = begin; o < end; ++o) {
      dequantize_row(w_node.dtype, w_bytes + o * w_row, w.data(), n_in);
      for (size_t i = 0; i < m; ++i) {
        const float* xi = x.data() + i * n_in;
        double sum = 0.0;
        for (size_t k = 0; k < n_in; ++k) sum += double(xi[k]) * double(w[k]);
        y[i * y_stride + o] = r != nullptr ? float(sum) + r[i * y_stride + o] : float(sum);
      }
    }
  });
}

// Adds member `member`'s low-rank tail, if it has one, to its product y [m, n_i] (row stride
// y_stride): y[i][o] += factor * (b t_i)[o], the product b t summed as a plain matmul sums it and
// scaled in f32, so a tail gives exactly what the unfused matmul, scale and add give here.
void add_tail(const OpArgs& a, int member, size_t m, float* y, size_t y_stride) {
  const LowRankTails& tails = a.node.params.tails;
  if (!tails.has(member)) return;
  const size_t b_index = tail_input_index(a.node, member);
  const Node& b = *a.in[b_index];      // b: [n_i, r] f16
  const Node& t = *a.in[b_index + 1];  // t: [m, r] f32
  const auto n_rows = size_t(b.shape[0]);
  const auto r = size_t(b.shape[1]);
  VKGRAPH_CHECK(size_t(element_count(t.shape)) == m * r, "{} '{}': tail '{}' of {} values for {} tokens of rank {}",
                op_name(a.node.op), a.node.name, t.name, element_count(t.shape), m, r);
  std::vector<float> low(m * n_rows);
  matmul_into(b, a.src[b_index], activations_f32(t, a.src[b_index + 1], m, r), m, low.data(), n_rows, nullptr);
  const float factor = tails.factor[size_t(member)];
  for (size_t i = 0; i < m; ++i) {
    for (size_t o = 0; o < n_rows; ++o) y[i * y_stride + o] += low[i * n_rows + o] * factor;
  }
}

}  // namespace

// y[i][o] = sum_k x[i][k] * w[o][k] (+ a low-rank tail) (+ r[i][o] for matmul_add, added after
// the sum in f32 as the Vulkan epilogue does)
void op_matmul(const OpArgs& a) {
  const Node& w_node = *a.in[0];  // w: [n_out, n_in]
  const Node& x_node = *a.in[1];  // x: [..., n_in] f32 or f16
  const auto n_out = size_t(w_node.shape[0]);
  const auto n_in = size_t(w_node.shape[1]);
  const size_t m = size_t(element_count(x_node.shape)) / n_in;
  const std::vector<float> x = activations_f32(x_node, a.src[1], m, n_in);
  // r: [..., n_out], matmul_add only
  const float* r = a.node.op == OpKind::matmul_add ? reinterpret_cast<const float*>(a.src[2]) : nullptr;
  auto* y = reinterpret_cast<float*>(a.out);
  if (a.node.params.tails.mask == 0) {
    matmul_into(w_node, a.src[0], x, m, y, n_out, r);
    return;
  }
  matmul_into(w_node, a.src[0], x, m, y, n_out, nullptr);
  add_tail(a, 0, m, y, n_out);
  if (r != nullptr) {
    for (size_t i = 0; i < m * n_out; ++i) y[i] += r[i];
  }
}

// The products of x by each weight (and their tails), side by side in every token's row: the
// values each plain matmul gives (the same sums, rounded the same way).
void op_matmul_cat(const OpArgs& a) {
  const size_t x_index = base_input_count(a.node) - 1;
  const Node& x_node = *a.in[x_index];  // x: [..., n_in]
  const auto n_in = size_t(x_node.shape.back());
  const size_t m = size_t(element_count(x_node.shape)) / n_in;
  const auto n_total = size_t(a.node.shape.back());  // y: [..., n_total]
  const std::vector<float> x = activations_f32(x_node, a.src[x_index], m, n_in);
  auto* y = reinterpret_cast<float*>(a.out);
  size_t first = 0;
  for (size_t i = 0; i < x_index; ++i) {  // w_i: [n_i, n_in]
    matmul_into(*a.in[i], a.src[i], x, m, y + first, n_total, nullptr);
    add_tail(a, int(i), m, y + first, n_total);
    first += size_t(a.in[i]->shape[0]);
  }
  VKGRAPH_CHECK(first == n_total, "matmul_cat '{}': the weights have {} rows in all, the result {}", a.node.name, first,
                n_total);
}

// silu(gate) * up with gate and up the plain matmuls' f32 results (and their tails) and swiglu's
// formula.
void op_matmul_swiglu(const OpArgs& a) {
  const Node& x_node = *a.in[2];  // x: [..., n_in]
  const auto n_in = size_t(x_node.shape.back());
  const size_t m = size_t(element_count(x_node.shape)) / n_in;
  const auto n_ff = size_t(a.in[0]->shape[0]);  // w_gate, w_up: [n_ff, n_in]
  const std::vector<float> x = activations_f32(x_node, a.src[2], m, n_in);
  std::vector<float> gate(m * n_ff), up(m * n_ff);
  matmul_into(*a.in[0], a.src[0], x, m, gate.data(), n_ff, nullptr);
  matmul_into(*a.in[1], a.src[1], x, m, up.data(), n_ff, nullptr);
  add_tail(a, 0, m, gate.data(), n_ff);  // tails before the activation, as the unfused adds were
  add_tail(a, 1, m, up.data(), n_ff);
  auto* y = reinterpret_cast<float*>(a.out);  // y: [..., n_ff]
  for (size_t i = 0; i < m * n_ff; ++i) {
    const float silu = float(double(gate[i]) / (1.0 + std::exp(-double(gate[i]))));
    y[i] = silu * up[i];
  }
}

void op_get_rows(const OpArgs& a) {
  const Node& table = *a.in[0];  // table: [n_rows, n]
  const auto n_rows = table.shape[0];
  const auto n = size_t(table.shape[1]);
  const size_t stride = row_bytes(table.dtype, n);
  const auto* ids = reinterpret_cast<const int32_t*>(a.src[1]);  // ids: [m]
  auto* y = reinterpret_cast<float*>(a.out);                     // y: [m, n]
  for (int64_t i = 0; i < a.node.shape[0]; ++i) {
    const int32_t id = ids[i];
    VKGRAPH_CHECK(id >= 0 && id < n_rows, "get_rows '{}': id {} (entry {} of '{}') is outside table '{}' of {} rows",
                  a.node.name, id, i, a.in[1]->name, table.name, n_rows);
    dequantize_row(table.dtype, a.src[0] + size_t(id) * stride, y + size_t(i) * n, n);
  }
}

}  // namespace vkgraph::cpu
