#version 450
// Attention, a correct first kernel: one workgroup per (query row, head). Keys are visited in
// chunks of one per invocation; each chunk's scores update a running maximum and sum (online
// softmax), so memory stays O(head_dim) per workgroup and no score matrix exists anywhere.
// Key j is visible to query i iff kv_pos[j] >= 0 (an empty slot holds -1), kv_pos[j] <= q_pos[i]
// and, with a window, q_pos[i] - kv_pos[j] < window. GQA/MQA: query head h reads kv head
// h / (n_head / n_kv_head). A query that sees no key yields zeros.
// q: [m, n_head, d] f32, k/v: [n_slots, n_kv_head, d] (KV_F16 or f32), q_pos: [m] i32,
// kv_pos: [n_slots] i32, out: [m, n_head, d] f32. D (constant_id 1) is the head dimension.
// ROPE_MODE (constant_id 2): 0 keys are used as stored; 1 (normal) or 2 (neox): keys are stored
// unrotated and key j is rotated by RoPE at position kv_pos[j] as it is read (rotate_keys).
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"
#include "common/reduce.glsl"

#if defined(KV_F16)
#define KV_T F16_T
#else
#define KV_T F32_T
#endif

layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint ROPE_MODE = 0;

layout(set = 0, binding = 0) readonly buffer QBuf { float q[]; };
layout(set = 0, binding = 1) readonly buffer KBuf { KV_T k[]; };
layout(set = 0, binding = 2) readonly buffer VBuf { KV_T v[]; };
layout(set = 0, binding = 3) readonly buffer QPosBuf { int q_pos[]; };
layout(set = 0, binding = 4) readonly buffer KvPosBuf { int kv_pos[]; };
layout(set = 0, binding = 5) writeonly buffer OutBuf { float o[]; };
layout(push_constant) uniform Params {
  uint m;
  uint n_head;
  uint n_kv_head;
  uint n_slots;
  float scale;
  int window;
  uint q_off;
  uint k_off;
  uint v_off;
  uint q_pos_off;
  uint kv_pos_off;
  uint o_off;
  uint n_rot;        // rotate_keys: rotated dimensions (even, <= D)
  float freq_base;
  float freq_scale;
} p;

shared float q_s[D];
shared float acc[D];
shared float prob[MAX_WORKGROUP];
shared float inv_freq[D / 2];  // rotate_keys: freq_scale * base^(-2i/n_rot) of pair i

// q_s . (key at kb rotated to position kp): pair i of the key is turned by kp * inv_freq[i].
float rotated_dot(uint kb, int kp) {
  const uint half_rot = p.n_rot / 2;
  float dot_qk = 0.0;
  for (uint i = 0; i < half_rot; ++i) {
    const uint i0 = ROPE_MODE == 2 ? i : 2 * i;
    const uint i1 = ROPE_MODE == 2 ? i + half_rot : 2 * i + 1;
    const float theta = float(kp) * inv_freq[i];
    const float c = cos(theta);
    const float s = sin(theta);
    const float k0 = float(k[kb + i0]);
    const float k1 = float(k[kb + i1]);
    dot_qk += q_s[i0] * (k0 * c - k1 * s) + q_s[i1] * (k0 * s + k1 * c);
  }
  for (uint d = p.n_rot; d < D; ++d) dot_qk += q_s[d] * float(k[kb + d]);
  return dot_qk;
}

void main() {
  const uint g = group_index();  // token * n_head + head
  if (g >= p.m * p.n_head) return;
  const uint t = gl_LocalInvocationID.x;
  const uint WG = gl_WorkGroupSize.x;
  const uint token = g / p.n_head;
  const uint head = g % p.n_head;
  const uint kv_head = head / (p.n_head / p.n_kv_head);
  const uint kv_stride = p.n_kv_head * D;  // elements between consecutive slots

  for (uint d = t; d < D; d += WG) {
    q_s[d] = q[p.q_off + g * D + d];
    acc[d] = 0.0;
  }
  if (ROPE_MODE != 0) {
    for (uint i = t; i < p.n_rot / 2; i += WG) {
      inv_freq[i] = p.freq_scale * pow(p.freq_base, -2.0 * float(i) / float(p.n_rot));
    }
  }
  barrier();

  const int qp = q_pos[p.q_pos_off + token];
  float run_max = neg_inf();
  float run_sum = 0.0;
  for (uint j0 = 0; j0 < p.n_slots; j0 += WG) {
    const uint j = j0 + t;
    float s = neg_inf();
    if (j < p.n_slots) {
      const int kp = kv_pos[p.kv_pos_off + j];
      const bool visible = kp >= 0 && kp <= qp && (p.window <= 0 || qp - kp < p.window);
      if (visible) {
        const uint kb = p.k_off + j * kv_stride + kv_head * D;
        float dot_qk = 0.0;
        if (ROPE_MODE != 0) {
          dot_qk = rotated_dot(kb, kp);
        } else {
          for (uint d = 0; d < D; ++d) dot_qk += q_s[d] * float(k[kb + d]);
        }
        s = dot_qk * p.scale;
      }
    }
    const float chunk_max = workgroup_max(s);
    if (chunk_max == neg_inf()) continue;  // uniform: no visible key in this chunk
    const float new_max = max(run_max, chunk_max);
    const float alpha = exp(run_max - new_max);  // 0 on the first visible chunk
    const float pj = (s == neg_inf()) ? 0.0 : exp(s - new_max);
    prob[t] = pj;
    run_sum = run_sum * alpha + workgroup_sum(pj);  // its barriers publish prob[]
    run_max = new_max;
    const uint count = min(WG, p.n_slots - j0);
    for (uint d = t; d < D; d += WG) {
      float a = acc[d] * alpha;
      for (uint jj = 0; jj < count; ++jj) {
        const float w = prob[jj];
        if (w != 0.0) a += w * float(v[p.v_off + (j0 + jj) * kv_stride + kv_head * D + d]);
      }
      acc[d] = a;
    }
    barrier();  // prob[] is rewritten by the next chunk
  }

  const float inv = run_sum > 0.0 ? 1.0 / run_sum : 0.0;
  for (uint d = t; d < D; d += WG) o[p.o_off + g * D + d] = acc[d] * inv;
}
