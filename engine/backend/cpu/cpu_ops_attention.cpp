// rope, attention and kv_write: the position-dependent ops of a transformer step.

#include <cmath>
#include <vector>

#include "engine/backend/cpu/cpu_ops.h"
#include "engine/backend/cpu/parallel.h"
#include "engine/core/error.h"
#include "engine/core/quant.h"

namespace vkgraph::cpu {

namespace {

// theta_k = pos * freq_scale * base^(-2k/n_rot) / factors[k] rotates the pair k: (2k, 2k+1) in
// normal mode, (k, k + n_rot/2) in neox mode; dimensions from n_rot on pass through (ggml's rope,
// no YaRN). factors: [n_rot/2] or null (all 1). x, y: [d]; y may be x.
void rope_row(const float* x, float* y, size_t d, int32_t pos, const RopeParams& p, const float* factors) {
  const auto half = size_t(p.n_rot / 2);
  for (size_t k = half * 2; k < d; ++k) y[k] = x[k];
  for (size_t k = 0; k < half; ++k) {
    const double theta = double(pos) * double(p.freq_scale) *
                         std::pow(double(p.freq_base), -2.0 * double(k) / double(p.n_rot)) /
                         (factors != nullptr ? double(factors[k]) : 1.0);
    const double c = std::cos(theta), s = std::sin(theta);
    const size_t i0 = p.mode == RopeMode::normal ? 2 * k : k;
    const size_t i1 = p.mode == RopeMode::normal ? 2 * k + 1 : k + half;
    const double x0 = x[i0], x1 = x[i1];
    y[i0] = float(x0 * c - x1 * s);
    y[i1] = float(x0 * s + x1 * c);
  }
}

}  // namespace

void op_rope(const OpArgs& a) {
  const RopeParams& p = a.node.params.rope;
  const auto m = size_t(a.node.shape[0]);
  const auto n_head = size_t(a.node.shape[1]);
  const auto d = size_t(a.node.shape[2]);
  const auto* x = reinterpret_cast<const float*>(a.src[0]);                                    // x: [m, n_head, d]
  const auto* pos = reinterpret_cast<const int32_t*>(a.src[1]);                                // pos: [m]
  const auto* factors = a.in.size() > 2 ? reinterpret_cast<const float*>(a.src[2]) : nullptr;  // [n_rot/2]
  auto* y = reinterpret_cast<float*>(a.out);
  for (size_t i = 0; i < m; ++i) {
    for (size_t h = 0; h < n_head; ++h) {
      rope_row(x + (i * n_head + h) * d, y + (i * n_head + h) * d, d, pos[i], p, factors);
    }
  }
}

double attention_score(double dot, const AttentionParams& params) {
  const double s = dot * double(params.scale);
  if (params.softcap <= 0.0f) return s;
  const double cap = params.softcap;
  return cap * std::tanh(s / cap);
}

// out[i][h] = sum_j softmax_j(score(q[i][h] . k[j][h/g])) v[j][h/g] over the visible slots j:
// kv_pos[j] >= 0, kv_pos[j] <= q_pos[i] and, with a window, q_pos[i] - kv_pos[j] < window.
void op_attention(const OpArgs& a) {
  const Node& k_node = *a.in[1];
  const auto m = size_t(a.node.shape[0]);
  const auto n_head = size_t(a.node.shape[1]);
  const auto d = size_t(a.node.shape[2]);
  const auto n_slots = size_t(k_node.shape[0]);
  const auto n_kv_head = size_t(k_node.shape[1]);
  const size_t group = n_head / n_kv_head;
  const int32_t window = a.node.params.attention.window;

  const auto* q = reinterpret_cast<const float*>(a.src[0]);    // q: [m, n_head, d]
  std::vector<float> k(n_slots * n_kv_head * d), v(k.size());  // k, v: [n_slots, n_kv_head, d]
  dequantize_row(k_node.dtype, a.src[1], k.data(), k.size());
  dequantize_row(k_node.dtype, a.src[2], v.data(), v.size());
  const auto* q_pos = reinterpret_cast<const int32_t*>(a.src[3]);   // [m]
  const auto* kv_pos = reinterpret_cast<const int32_t*>(a.src[4]);  // [n_slots]
  // Keys stored unrotated: rotate each filled slot's key at its own position, exactly
  // as a rope op over the cache would.
  if (a.node.params.attention.rotate_keys) {
    const auto* factors = a.in.size() > 5 ? reinterpret_cast<const float*>(a.src[5]) : nullptr;  // [n_rot/2]
    for (size_t j = 0; j < n_slots; ++j) {
      if (kv_pos[j] < 0) continue;  // empty slot: never visible
      for (size_t kh = 0; kh < n_kv_head; ++kh) {
        float* kr = k.data() + (j * n_kv_head + kh) * d;
        rope_row(kr, kr, d, kv_pos[j], a.node.params.attention.key_rope, factors);
      }
    }
  }
  auto* out = reinterpret_cast<float*>(a.out);  // out: [m, n_head, d]

  parallel_for(m * n_head, n_slots * d * 2, [&](size_t begin, size_t end) {
    std::vector<double> scores(n_slots), acc(d);
    for (size_t ih = begin; ih < end; ++ih) {
      const size_t i = ih / n_head, h = ih % n_head, kh = h / group;
      const float* qr = q + ih * d;
      double max = -INFINITY;
      bool any = false;
      for (size_t j = 0; j < n_slots; ++j) {
        const int32_t kp = kv_pos[j];
        const bool visible = kp >= 0 && kp <= q_pos[i] && (window == 0 || int64_t(q_pos[i]) - kp < window);
        if (!visible) {
          scores[j] = -INFINITY;
          continue;
        }
        const float* kr = k.data() + (j * n_kv_head + kh) * d;
        double dot = 0.0;
        for (size_t c = 0; c < d; ++c) dot += double(qr[c]) * double(kr[c]);
        scores[j] = attention_score(dot, a.node.params.attention);
        max = std::fmax(max, scores[j]);
        any = true;
      }
      std::fill(acc.begin(), acc.end(), 0.0);
      if (any) {
        double sum = 0.0;
        for (size_t j = 0; j < n_slots; ++j) {
          if (scores[j] == -INFINITY) continue;
          const double p = std::exp(scores[j] - max);
          sum += p;
          const float* vr = v.data() + (j * n_kv_head + kh) * d;
          for (size_t c = 0; c < d; ++c) acc[c] += p * double(vr[c]);
        }
        for (size_t c = 0; c < d; ++c) acc[c] /= sum;
      }
      for (size_t c = 0; c < d; ++c) out[ih * d + c] = float(acc[c]);
    }
  });
}

// cache[slots[i]] = src[i], converted to the cache's dtype. Slots are written in order, so a
// slot named twice keeps the later row.
void op_kv_write(const OpArgs& a) {
  const Node& src_node = *a.in[1];  // src: [m, n_kv_head, d] f32
  const auto n_slots = a.node.shape[0];
  const auto row = size_t(a.node.shape[1] * a.node.shape[2]);
  const size_t stride = row_bytes(a.node.dtype, row);
  const auto* src = reinterpret_cast<const float*>(a.src[1]);
  const auto* slots = reinterpret_cast<const int32_t*>(a.src[2]);  // slots: [m]
  for (int64_t i = 0; i < src_node.shape[0]; ++i) {
    const int32_t slot = slots[i];
    VKGRAPH_CHECK(slot >= 0 && slot < n_slots, "kv_write '{}': slot {} (entry {} of '{}') is outside the {} slots",
                  a.node.name, slot, i, a.in[2]->name, n_slots);
    quantize_row(a.node.dtype, src + size_t(i) * row, a.out + size_t(slot) * stride, row);
  }
}

}  // namespace vkgraph::cpu
