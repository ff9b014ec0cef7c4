#version 450
// Split-K decode attention, pass 2: combines the per-chunk partial results of
// attention_split.comp into the output. One workgroup per (token, head) row. With M the largest
// chunk maximum, chunk c weighs w_c = exp(m_c - M) and
//   out = sum_c w_c * o_c / sum_c w_c * l_c,
// the log-sum-exp rescale that makes the chunks' separate softmaxes one softmax over all keys.
// A chunk that saw no key has m_c = -inf (w_c = 0); a row no chunk saw gets zeros.
// part: [n_chunks, rows, D] f32 accumulators, then [n_chunks, rows, 2] f32 (m, l);
// out: [rows, D] f32. Constant 1: D (head dimension, <= MAX_DIMS * workgroup size).
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"
#define ATTENTION_REDUCE 1
#include "attention/params.glsl"

#define MAX_DIMS 4

layout(constant_id = 1) const uint D = 64;

layout(set = 0, binding = 0) readonly buffer PartBuf { float part[]; };
layout(set = 0, binding = 1) writeonly buffer OutBuf { float o[]; };

void main() {
  const uint row = group_index();
  if (row >= p.rows) return;
  const uint t = gl_LocalInvocationID.x;
  const uint WG = gl_WorkGroupSize.x;
  const uint ml_base = p.part_off + p.n_chunks * p.rows * D;

  float global_max = neg_inf();
  for (uint c = 0; c < p.n_chunks; ++c) global_max = max(global_max, part[ml_base + (c * p.rows + row) * 2]);

  float acc[MAX_DIMS];
  for (uint i = 0; i < MAX_DIMS; ++i) acc[i] = 0.0;
  float total = 0.0;
  if (global_max != neg_inf()) {
    for (uint c = 0; c < p.n_chunks; ++c) {
      const uint slot = c * p.rows + row;
      const float w = exp(part[ml_base + slot * 2] - global_max);
      total += w * part[ml_base + slot * 2 + 1];
      for (uint i = 0; i < MAX_DIMS; ++i) {
        const uint d = t + i * WG;
        if (d < D) acc[i] += w * part[p.part_off + slot * D + d];
      }
    }
  }
  const float inv = total > 0.0 ? 1.0 / total : 0.0;
  for (uint i = 0; i < MAX_DIMS; ++i) {
    const uint d = t + i * WG;
    if (d < D) o[p.o_off + row * D + d] = acc[i] * inv;
  }
}
