// rope, attention (with masking by position, sliding window and keys rotated when read) and
// kv_write: the position-dependent kernels of a transformer step.

#include "engine/backend/cuda/device_common.cuh"

namespace vkgraph::cuda {
namespace {

// x, y: [m, n_head, d]; pos: [m]. One thread per (row, head, dimension pair or pass-through).
__global__ void rope_kernel(RopeArgs r, const float* x, const int32_t* pos, float* y, int64_t m, int64_t n_head,
                            int64_t d) {
  const int64_t half = r.n_rot / 2;
  const int64_t per_head = half + (d - 2 * half);  // rotated pairs, then the dimensions passed through
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < m * n_head * per_head;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t head = e / per_head, k = e % per_head;  // head: row * n_head + h
    const float* xh = x + head * d;
    float* yh = y + head * d;
    if (k >= half) {
      const int64_t c = 2 * half + (k - half);
      yh[c] = xh[c];
      continue;
    }
    float c, s;
    rope_angle(r, pos[head / n_head], int(k), &c, &s);
    int i0, i1;
    rope_pair(r, int(k), &i0, &i1);
    const float x0 = xh[i0], x1 = xh[i1];
    yh[i0] = x0 * c - x1 * s;
    yh[i1] = x0 * s + x1 * c;
  }
}

// The keys of the cache rotated at their own positions: k, out [n_slots, n_kv_head, d].
template <DType K>
__global__ void rotate_keys_kernel(RopeArgs r, const uint8_t* k, const int32_t* kv_pos, float* out, int64_t n_slots,
                                   int64_t n_kv_head, int64_t d) {
  const int64_t half = r.n_rot / 2;
  const int64_t per_head = half + (d - 2 * half);
  const size_t head_bytes = size_t(d) * (K == DType::F16 ? 2 : 4);
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n_slots * n_kv_head * per_head;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t head = e / per_head, p = e % per_head;  // head: slot * n_kv_head + kh
    const uint8_t* kh = k + size_t(head) * head_bytes;
    float* oh = out + head * d;
    if (p >= half) {
      const int64_t c = 2 * half + (p - half);
      oh[c] = load_element<K>(kh, c);
      continue;
    }
    float c, s;
    rope_angle(r, kv_pos[head / n_kv_head], int(p), &c, &s);
    int i0, i1;
    rope_pair(r, int(p), &i0, &i1);
    const float x0 = load_element<K>(kh, i0), x1 = load_element<K>(kh, i1);
    oh[i0] = x0 * c - x1 * s;
    oh[i1] = x0 * s + x1 * c;
  }
}

constexpr int kPerLane = int(kMaxAttentionHeadDim / 32);
constexpr int kWarpsPerBlock = kBlock / 32;

// One warp per (query row, head): the scores of every visible slot in one pass with an online
// softmax (running maximum, rescaled sum and accumulator), lanes holding dimensions lane + 32t.
template <DType KT, DType VT>
__global__ void attention_kernel(AttentionArgs a) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
  const int64_t group = a.n_head / a.n_kv_head;
  const auto* k = static_cast<const uint8_t*>(a.k);
  const auto* v = static_cast<const uint8_t*>(a.v);
  const size_t k_head = size_t(a.d) * (KT == DType::F16 ? 2 : 4);
  const size_t v_head = size_t(a.d) * (VT == DType::F16 ? 2 : 4);
  for (int64_t item = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; item < a.m * a.n_head; item += warps) {
    const int64_t i = item / a.n_head, h = item % a.n_head, kvh = h / group;
    const int32_t qp = a.q_pos[i];
    float q[kPerLane], acc[kPerLane];
    for (int t = 0; t < kPerLane; ++t) {
      const int64_t c = lane + 32 * t;
      q[t] = c < a.d ? a.q[item * a.d + c] : 0.0f;
      acc[t] = 0.0f;
    }
    float max = -INFINITY, sum = 0.0f;
    for (int64_t j = 0; j < a.n_slots; ++j) {
      const int32_t kp = a.kv_pos[j];
      const bool visible = kp >= 0 && kp <= qp && (a.window == 0 || int64_t(qp) - kp < a.window);
      if (!visible) continue;  // the same for the whole warp: no divergence
      const uint8_t* kr = k + size_t(j * a.n_kv_head + kvh) * k_head;
      float dot = 0.0f;
      for (int t = 0; t < kPerLane; ++t) {
        const int64_t c = lane + 32 * t;
        if (c < a.d) dot += q[t] * load_element<KT>(kr, c);
      }
      const float score = capped_score(warp_sum(dot) * a.scale, a.softcap);
      if (score > max) {
        const float rescale = expf(max - score);  // 0 for the first visible slot
        sum *= rescale;
        for (int t = 0; t < kPerLane; ++t) acc[t] *= rescale;
        max = score;
      }
      const float p = expf(score - max);
      sum += p;
      const uint8_t* vr = v + size_t(j * a.n_kv_head + kvh) * v_head;
      for (int t = 0; t < kPerLane; ++t) {
        const int64_t c = lane + 32 * t;
        if (c < a.d) acc[t] += p * load_element<VT>(vr, c);
      }
    }
    for (int t = 0; t < kPerLane; ++t) {
      const int64_t c = lane + 32 * t;
      if (c < a.d) a.out[item * a.d + c] = sum > 0.0f ? acc[t] / sum : 0.0f;  // no visible slot: zeros
    }
  }
}

// cache: [n_slots, row] (C), src: [m, row], slots: [m]. A thread owns one column and walks the
// rows in order, so a slot named twice keeps the later row, as on the CPU.
template <DType C>
__global__ void kv_write_kernel(uint8_t* cache, int64_t n_slots, const float* src, const int32_t* slots, int64_t m,
                                int64_t row, int* error, int code) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < row; c += int64_t(gridDim.x) * blockDim.x) {
    for (int64_t i = 0; i < m; ++i) {
      const int32_t slot = slots[i];
      if (slot < 0 || slot >= n_slots) {
        report_bad_index(error, code);
        continue;
      }
      const float value = src[i * row + c];
      if constexpr (C == DType::F16) {
        reinterpret_cast<__half*>(cache)[slot * row + c] = __float2half_rn(value);
      } else {
        reinterpret_cast<float*>(cache)[slot * row + c] = value;
      }
    }
  }
}

}  // namespace

void launch_rope(const Launch& l, const RopeArgs& rope, const float* x, const int32_t* pos, float* y, int64_t m,
                 int64_t n_head, int64_t d) {
  const int64_t per_head = rope.n_rot / 2 + (d - rope.n_rot);
  rope_kernel<<<grid_for(m * n_head * per_head), kBlock, 0, l.stream>>>(rope, x, pos, y, m, n_head, d);
}

void launch_rotate_keys(const Launch& l, const RopeArgs& rope, DType k_type, const void* k, const int32_t* kv_pos,
                        float* out, int64_t n_slots, int64_t n_kv_head, int64_t d) {
  const int64_t items = n_slots * n_kv_head * (rope.n_rot / 2 + (d - rope.n_rot));
  const auto* kb = static_cast<const uint8_t*>(k);
  if (k_type == DType::F16) {
    rotate_keys_kernel<DType::F16>
        <<<grid_for(items), kBlock, 0, l.stream>>>(rope, kb, kv_pos, out, n_slots, n_kv_head, d);
  } else {
    rotate_keys_kernel<DType::F32>
        <<<grid_for(items), kBlock, 0, l.stream>>>(rope, kb, kv_pos, out, n_slots, n_kv_head, d);
  }
}

void launch_attention(const Launch& l, const AttentionArgs& a) {
  const unsigned grid = grid_for(a.m * a.n_head, kWarpsPerBlock);
  const bool k16 = a.k_type == DType::F16, v16 = a.v_type == DType::F16;
  if (k16 && v16) {
    attention_kernel<DType::F16, DType::F16><<<grid, kBlock, 0, l.stream>>>(a);
  } else if (!k16 && v16) {  // keys rotated into f32, values read from an f16 cache
    attention_kernel<DType::F32, DType::F16><<<grid, kBlock, 0, l.stream>>>(a);
  } else {
    attention_kernel<DType::F32, DType::F32><<<grid, kBlock, 0, l.stream>>>(a);
  }
}

void launch_kv_write(const Launch& l, DType cache_type, void* cache, int64_t n_slots, const float* src,
                     const int32_t* slots, int64_t m, int64_t row) {
  auto* cb = static_cast<uint8_t*>(cache);
  if (cache_type == DType::F16) {
    kv_write_kernel<DType::F16>
        <<<grid_for(row), kBlock, 0, l.stream>>>(cb, n_slots, src, slots, m, row, l.error, l.error_code);
  } else {
    kv_write_kernel<DType::F32>
        <<<grid_for(row), kBlock, 0, l.stream>>>(cb, n_slots, src, slots, m, row, l.error, l.error_code);
  }
}

}  // namespace vkgraph::cuda
