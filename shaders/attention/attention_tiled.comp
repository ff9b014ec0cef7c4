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
// Visibility, key rotation, scores and the online softmax: attention/common.glsl. A query that
// sees nothing yields zeros.
//
// The two products (S = Q . K^T, O += P . V) go through shaders/common/tile.glsl: cooperative
// matrices in COOPMAT variants, shared-memory loops otherwise; everything else here is shared.
//
// Tensors and constants 1-2 as in attention/common.glsl; 3 BR (rows per workgroup), 4 BC (slots
// per tile). The host keeps BR, BC (and D on COOPMAT variants) multiples of TILE_GRANULE and the
// shared arrays inside the kernel row's budget.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"
#include "common/tile.glsl"
#include "attention/params.glsl"
#include "attention/common.glsl"

layout(constant_id = 3) const uint BR = 16;
layout(constant_id = 4) const uint BC = 16;

shared TILE_T q_s[BR * D];    // the rows' queries
shared TILE_T kv_s[BC * D];   // the slot tile's keys, then its values
shared float s_s[BR * BC];    // q . k of the tile, then its scores (-inf where masked)
shared TILE_T p_s[BR * BC];   // their probabilities (relative to the running maximum)
shared float o_s[BR * D];     // unnormalized outputs
shared float row_max[BR];
shared float row_sum[BR];
shared float row_alpha[BR];   // rescaling of o_s for the current tile
shared int row_qpos[BR];      // -1 for rows past the end: no slot is visible to them
shared int tile_pos[BC];      // kv_pos of the tile's slots, -1 past the end

#if defined(VKGRAPH_COOPMAT)
// f16 tiles: a query row or a key beyond f16's range would stage as infinity and turn its
// scores, then the softmax, into NaN. Each row and each slot of the tile is divided by a power
// of two for the staging (common/coopmat.glsl: f16_safe_scale), and the score multiplied back.
shared float q_scale[BR];
shared float k_scale[BC];
float staging_scale(uint r, uint c) { return q_scale[r] * k_scale[c]; }
#else
float staging_scale(uint r, uint c) { return 1.0; }
#endif

TILE_MMA_NT(scores_product, s_s, q_s, kv_s)
TILE_MMA_NN(output_product, o_s, p_s, kv_s)

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

#if defined(VKGRAPH_COOPMAT)
  for (uint r = t; r < BR; r += WG) {
    const uint row = r0 + r;
    float largest = 0.0;
    if (row < rows_total) {
      const uint base = p.q_off + ((row / group) * p.n_head + kv_head * group + row % group) * D;
      for (uint d = 0; d < D; ++d) largest = max(largest, abs(q[base + d]));
    }
    q_scale[r] = f16_safe_scale(largest);
  }
  barrier();
#endif
  for (uint e = t; e < BR * D; e += WG) {
    const uint row = r0 + e / D;
    float x = 0.0;
    if (row < rows_total) {
      const uint head = kv_head * group + row % group;
      x = q[p.q_off + ((row / group) * p.n_head + head) * D + e % D];
    }
#if defined(VKGRAPH_COOPMAT)
    x /= q_scale[e / D];
#endif
    q_s[e] = TILE_T(x);
    o_s[e] = 0.0;
  }
  for (uint r = t; r < BR; r += WG) {
    const uint row = r0 + r;
    row_qpos[r] = row < rows_total ? q_pos[p.q_pos_off + row / group] : -1;
    row_max[r] = neg_inf();
    row_sum[r] = 0.0;
  }
  load_key_rotation(t, WG);
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
    // Every invocation reaches the same answer: the branch is uniform.
    bool any_visible = false;
    for (uint c = 0; c < BC; ++c) any_visible = any_visible || key_visible_to_range(tile_pos[c], q_min, q_max);
    if (!any_visible) {
      barrier();  // tile_pos is rewritten by the next tile
      continue;
    }

#if defined(VKGRAPH_COOPMAT)
    for (uint c = t; c < BC; c += WG) {
      float largest = 0.0;
      if (tile_pos[c] >= 0) {
        for (uint d = 0; d < D; ++d) {
          largest = max(largest, abs(key_element(p.k_off + (c0 + c) * kv_stride + kv_head * D, d, tile_pos[c])));
        }
      }
      k_scale[c] = f16_safe_scale(largest);
    }
    barrier();
#endif
    for (uint e = t; e < BC * D; e += WG) {
      const uint c = e / D;
      float x = 0.0;
      if (tile_pos[c] >= 0) x = key_element(p.k_off + (c0 + c) * kv_stride + kv_head * D, e % D, tile_pos[c]);
#if defined(VKGRAPH_COOPMAT)
      x /= k_scale[c];
#endif
      kv_s[e] = TILE_T(x);
    }
    barrier();
    scores_product(BR, BC, D, D, D, BC, false);
    barrier();

    // Online softmax, one row per invocation: scores (masked), new maximum, probabilities,
    // running sum.
    for (uint r = t; r < BR; r += WG) {
      const int qp = row_qpos[r];
      float tile_max = neg_inf();
      for (uint c = 0; c < BC; ++c) {
        const float s =
            key_visible(tile_pos[c], qp) ? attention_score(s_s[r * BC + c] * staging_scale(r, c)) : neg_inf();
        s_s[r * BC + c] = s;
        tile_max = max(tile_max, s);
      }
      float run_max = row_max[r];
      const float alpha = softmax_rescale(run_max, tile_max);
      float sum = 0.0;
      for (uint c = 0; c < BC; ++c) {
        const float pj = softmax_weight(s_s[r * BC + c], run_max);
        p_s[r * BC + c] = TILE_T(pj);
        sum += pj;
      }
      row_alpha[r] = alpha;
      row_sum[r] = row_sum[r] * alpha + sum;
      row_max[r] = run_max;
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
    const float inv = softmax_normalizer(row_sum[r]);
    o[p.o_off + ((row / group) * p.n_head + head) * D + e % D] = o_s[e] * inv;
  }
}
