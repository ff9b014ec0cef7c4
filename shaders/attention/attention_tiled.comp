#version 450
// Attention over tiles (FlashAttention-2 style), for prefill: a workgroup owns BR query rows of
// one kv head and walks the cache in tiles of BC slots held in shared memory, keeping a running
// maximum and sum per row (online softmax). Memory is O(BR x D + BC x D) per workgroup: no score
// matrix bigger than BR x BC exists anywhere.
//
// Rows are (token, query head) pairs of the query heads that share the kv head (GQA/MQA), head
// fastest, so each K/V tile is loaded once for all of them. A slot tile that no row of the
// workgroup can see (by positions: kv_pos, q_pos and the window, not by indices, because a ring
// cache stores positions in any order) is skipped whole: the causal tiles above the diagonal of
// an ordered cache cost one pass over their kv_pos entries.
//
// Visibility, as graph.h defines it: slot j is visible to query i iff kv_pos[j] >= 0,
// kv_pos[j] <= q_pos[i] and (window == 0 || q_pos[i] - kv_pos[j] < window). A query that sees
// nothing yields zeros.
//
// The two products (S = Q . K^T, O += P . V) go through shaders/common/tile.glsl: cooperative
// matrices in COOPMAT variants, shared-memory loops otherwise; everything else here is shared.
//
// q: [m, n_head, D] f32, k/v: [n_slots, n_kv_head, D] (KV_F16 or f32), q_pos: [m] i32,
// kv_pos: [n_slots] i32, out: [m, n_head, D] f32.
// Constants: 1 D (head dimension), 2 ROPE_MODE (0: keys as stored; 1 normal, 2 neox: keys are
// stored unrotated and rotated at kv_pos as they are loaded), 3 BR (rows per workgroup),
// 4 BC (slots per tile). The host keeps BR, BC (and D on COOPMAT variants) multiples of
// TILE_GRANULE and the shared arrays inside the kernel row's budget.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"
#include "common/tile.glsl"

#if defined(KV_F16)
#define KV_T F16_T
#else
#define KV_T F32_T
#endif

layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint ROPE_MODE = 0;
layout(constant_id = 3) const uint BR = 16;
layout(constant_id = 4) const uint BC = 16;

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
  uint n_rot;  // rotate_keys: rotated dimensions (even, <= D)
  float freq_base;
  float freq_scale;
} p;

shared TILE_T q_s[BR * D];    // the rows' queries, pre-multiplied by scale
shared TILE_T kv_s[BC * D];   // the slot tile's keys, then its values
shared float s_s[BR * BC];    // scores of the tile
shared TILE_T p_s[BR * BC];   // their probabilities (relative to the running maximum)
shared float o_s[BR * D];     // unnormalized outputs
shared float row_max[BR];
shared float row_sum[BR];
shared float row_alpha[BR];   // rescaling of o_s for the current tile
shared int row_qpos[BR];      // -1 for rows past the end: no slot is visible to them
shared int tile_pos[BC];      // kv_pos of the tile's slots, -1 past the end
shared float inv_freq[D / 2 + 1];  // rotate_keys: freq_scale * base^(-2i/n_rot) of pair i

TILE_MMA_NT(scores_product, s_s, q_s, kv_s)
TILE_MMA_NN(output_product, o_s, p_s, kv_s)

bool visible(int kp, int qp) { return kp >= 0 && kp <= qp && (p.window <= 0 || qp - kp < p.window); }

// Element d of the key of (slot, kv head) at `kb`, rotated to position kp when ROPE_MODE != 0.
float key_element(uint kb, uint d, int kp) {
  if (ROPE_MODE == 0 || d >= p.n_rot) return float(k[kb + d]);
  const uint half_rot = p.n_rot / 2;
  uint pair, i0, i1;
  if (ROPE_MODE == 2) {
    pair = d % half_rot;
    i0 = pair;
    i1 = pair + half_rot;
  } else {
    pair = d / 2;
    i0 = 2 * pair;
    i1 = 2 * pair + 1;
  }
  const float theta = float(kp) * inv_freq[pair];
  const float c = cos(theta);
  const float s = sin(theta);
  const float x0 = float(k[kb + i0]);
  const float x1 = float(k[kb + i1]);
  return d == i0 ? x0 * c - x1 * s : x0 * s + x1 * c;
}

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint WG = gl_WorkGroupSize.x;
  const uint group = p.n_head / p.n_kv_head;  // query heads per kv head
  const uint rows_total = p.m * group;
  const uint row_tiles = (rows_total + BR - 1) / BR;
  const uint g = group_index();
  if (g >= row_tiles * p.n_kv_head) return;
  const uint kv_head = g / row_tiles;
  const uint r0 = (g % row_tiles) * BR;
  const uint kv_stride = p.n_kv_head * D;  // elements between consecutive slots

  for (uint e = t; e < BR * D; e += WG) {
    const uint row = r0 + e / D;
    float x = 0.0;
    if (row < rows_total) {
      const uint head = kv_head * group + row % group;
      x = q[p.q_off + ((row / group) * p.n_head + head) * D + e % D] * p.scale;
    }
    q_s[e] = TILE_T(x);
    o_s[e] = 0.0;
  }
  for (uint r = t; r < BR; r += WG) {
    const uint row = r0 + r;
    row_qpos[r] = row < rows_total ? q_pos[p.q_pos_off + row / group] : -1;
    row_max[r] = neg_inf();
    row_sum[r] = 0.0;
  }
  if (ROPE_MODE != 0) {
    for (uint i = t; i < p.n_rot / 2; i += WG) {
      inv_freq[i] = p.freq_scale * pow(p.freq_base, -2.0 * float(i) / float(p.n_rot));
    }
  }
  barrier();

  // The rows' position range decides which slot tiles can matter at all.
  int q_min = 0x7fffffff;
  int q_max = -1;
  for (uint r = 0; r < BR; ++r) {
    if (row_qpos[r] >= 0) {
      q_min = min(q_min, row_qpos[r]);
      q_max = max(q_max, row_qpos[r]);
    }
  }

  for (uint c0 = 0; c0 < p.n_slots; c0 += BC) {
    for (uint c = t; c < BC; c += WG) tile_pos[c] = c0 + c < p.n_slots ? kv_pos[p.kv_pos_off + c0 + c] : -1;
    barrier();
    // Some row can see some slot iff a slot's position kp has kp <= q_max and, with a window,
    // kp + window > q_min. Every invocation reaches the same answer: the branch is uniform.
    bool any_visible = false;
    for (uint c = 0; c < BC; ++c) {
      const int kp = tile_pos[c];
      any_visible = any_visible || (kp >= 0 && kp <= q_max && (p.window <= 0 || kp > q_min - p.window));
    }
    if (!any_visible) {
      barrier();  // tile_pos is rewritten by the next tile
      continue;
    }

    for (uint e = t; e < BC * D; e += WG) {
      const uint c = e / D;
      float x = 0.0;
      if (tile_pos[c] >= 0) x = key_element(p.k_off + (c0 + c) * kv_stride + kv_head * D, e % D, tile_pos[c]);
      kv_s[e] = TILE_T(x);
    }
    barrier();
    scores_product(BR, BC, D, D, D, BC, false);
    barrier();

    // Online softmax, one row per invocation: mask, new maximum, probabilities, running sum.
    for (uint r = t; r < BR; r += WG) {
      const int qp = row_qpos[r];
      const float old_max = row_max[r];
      float new_max = old_max;
      for (uint c = 0; c < BC; ++c) {
        if (visible(tile_pos[c], qp)) new_max = max(new_max, s_s[r * BC + c]);
      }
      float sum = 0.0;
      for (uint c = 0; c < BC; ++c) {
        const float pj = visible(tile_pos[c], qp) ? exp(s_s[r * BC + c] - new_max) : 0.0;
        p_s[r * BC + c] = TILE_T(pj);
        sum += pj;
      }
      // exp(-inf) = 0 when this is the row's first visible tile; nothing to rescale when the
      // row still sees nothing.
      const float alpha = new_max == neg_inf() ? 1.0 : exp(old_max - new_max);
      row_alpha[r] = alpha;
      row_sum[r] = row_sum[r] * alpha + sum;
      row_max[r] = new_max;
    }
    barrier();

    // The keys are no longer needed: load the values over them while rescaling the outputs.
    for (uint e = t; e < BC * D; e += WG) {
      const uint c = e / D;
      float x = 0.0;
      if (tile_pos[c] >= 0) x = float(v[p.v_off + (c0 + c) * kv_stride + kv_head * D + e % D]);
      kv_s[e] = TILE_T(x);
    }
    for (uint e = t; e < BR * D; e += WG) o_s[e] *= row_alpha[e / D];
    barrier();
    output_product(BR, D, BC, BC, D, D, true);
    barrier();
  }

  for (uint e = t; e < BR * D; e += WG) {
    const uint row = r0 + e / D;
    if (row >= rows_total) continue;
    const uint r = e / D;
    const uint head = kv_head * group + row % group;
    const float inv = row_sum[r] > 0.0 ? 1.0 / row_sum[r] : 0.0;
    o[p.o_off + ((row / group) * p.n_head + head) * D + e % D] = o_s[e] * inv;
  }
}
