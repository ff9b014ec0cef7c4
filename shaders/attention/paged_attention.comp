#version 450
// Paged attention for the batched serving engine: the queries of several sequences in one step,
// each attending to its own sequence's keys and values, which live in blocks of a shared pool
// named by the sequence's row of the block table. One kernel for every query of a step, decode
// tokens and prompt chunks alike, tiled as attention_tiled.comp (rows of one kv head, key tiles
// of BC positions in shared memory, online softmax) and split over key chunks as
// attention_split.comp (partials that attention_reduce.comp combines).
//
// Rows of a workgroup: up to BT = BR / group consecutive tokens of one sequence (same table row,
// consecutive positions, positions of one BT-aligned run) x the query heads of its kv head, head
// fastest. The workgroup of token i works only if i starts such a run (otherwise it returns at
// once), so the grid is tokens x kv heads x chunks whatever the sequences are.
//
// Batch invariance: a query's result depends on its own row of q, its position and its
// sequence's keys and values only, never on which other queries share its workgroup or step:
//  - key tiles and chunks lie on a fixed grid of absolute positions (multiples of BC and of
//    chunk_len), so a query meets the same tiles, in the same order, wherever it sits;
//  - the products compute each score and each output element with a loop of its own (the
//    portable tiles of common/tile.glsl), whatever the number of rows;
//  - a tile that some rows of the workgroup see and a row does not is an exact no-op for that
//    row (rescale by exp(0) = 1, weights 0);
//  - with several chunks every row goes through the reduce pass, whose chunks that saw nothing
//    weigh exactly 0.
// The host keeps BC and chunk_len the same for every step of an engine (lowering_attention_paged.cpp).
//
// Tensors: attention/common.glsl with PAGED_ATTENTION (q, pools k/v, q_pos, block_table, out),
// seq_rows and, with several chunks, part [n_chunks, m * n_head, D] accumulators then
// [n_chunks, m * n_head, 2] (max, sum), as attention_split.comp writes them.
// Constants: 1 D, 2 ROPE_MODE (unused: always 0), 3 BR (rows per workgroup, a multiple of the
// query heads per kv head), 4 BC (key positions per tile).
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"
#include "common/tile.glsl"
#define PAGED_ATTENTION 1
#include "attention/params.glsl"
#include "attention/common.glsl"

layout(constant_id = 3) const uint BR = 16;
layout(constant_id = 4) const uint BC = 16;

layout(set = 0, binding = 6) readonly buffer SeqRowsBuf { int seq_rows[]; };
layout(set = 0, binding = 7) writeonly buffer PartBuf { float part[]; };

shared TILE_T q_s[BR * D];    // the rows' queries
shared TILE_T kv_s[BC * D];   // the tile's keys, then its values
shared float s_s[BR * BC];    // q . k of the tile, then its scores (-inf where masked)
shared TILE_T p_s[BR * BC];   // their probabilities (relative to the running maximum)
shared float o_s[BR * D];     // unnormalized outputs
shared float row_max[BR];
shared float row_sum[BR];
shared float row_alpha[BR];   // rescaling of o_s for the current tile
shared int row_qpos[BR];      // -1 for rows past the run's end or of padding: they see nothing
shared int tile_pos[BC];      // positions of the tile's keys, -1 where there is no key
shared uint tile_slot[BC];    // their pool slots

TILE_MMA_NT(scores_product, s_s, q_s, kv_s)
TILE_MMA_NN(output_product, o_s, p_s, kv_s)

// Token i's table row, -1 for padding or a row outside the table (it sees nothing).
int row_of(uint i) {
  const int r = seq_rows[p.seq_rows_off + i];
  return r >= 0 && uint(r) < p.n_rows ? r : -1;
}

// Whether token i continues the run of token i - 1: same sequence, next position, and not the
// first position of a BT-aligned run.
bool continues_run(uint i, uint bt) {
  if (i == 0) return false;
  const int r = row_of(i);
  const int qp = q_pos[p.q_pos_off + i];
  return r >= 0 && qp > 0 && uint(qp) % bt != 0 && row_of(i - 1) == r && q_pos[p.q_pos_off + i - 1] == qp - 1;
}

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint WG = gl_WorkGroupSize.x;
  const uint group = p.n_head / p.n_kv_head;  // query heads per kv head
  const uint bt = max(BR / group, 1u);        // tokens per run
  const uint g = group_index();               // (token * n_kv_head + kv_head) * n_chunks + chunk
  if (g >= p.m * p.n_kv_head * p.n_chunks) return;
  const uint chunk = g % p.n_chunks;
  const uint kv_head = (g / p.n_chunks) % p.n_kv_head;
  const uint first = g / (p.n_chunks * p.n_kv_head);
  if (continues_run(first, bt)) return;  // uniform: another workgroup owns this token
  uint n_tok = 1;
  while (first + n_tok < p.m && n_tok < bt && continues_run(first + n_tok, bt)) ++n_tok;
  const uint rows = n_tok * group;
  const int seq = row_of(first);
  const int q_min = seq >= 0 ? q_pos[p.q_pos_off + first] : -1;
  const int q_max = seq >= 0 ? q_min + int(n_tok) - 1 : -1;
  const uint kv_stride = p.n_kv_head * D;  // elements between consecutive pool slots

  for (uint e = t; e < rows * D; e += WG) {
    const uint r = e / D;
    const uint head = kv_head * group + r % group;
    q_s[e] = TILE_T(q[p.q_off + ((first + r / group) * p.n_head + head) * D + e % D]);
    o_s[e] = 0.0;
  }
  for (uint r = t; r < BR; r += WG) {
    row_qpos[r] = r < rows && q_min >= 0 ? q_min + int(r / group) : -1;
    row_max[r] = neg_inf();
    row_sum[r] = 0.0;
  }
  barrier();

  // The chunk's positions that some row may see, walked in tiles on the grid of multiples of BC.
  int lo = int(chunk * p.chunk_len);
  const int hi = min(min(lo + int(p.chunk_len), q_max + 1), int(p.max_blocks * p.block_size));
  if (p.window > 0) lo = max(lo, (max(q_min - p.window + 1, 0) / int(BC)) * int(BC));
  const uint n_blocks = p.n_slots / p.block_size;
  for (int p0 = lo; p0 < hi; p0 += int(BC)) {
    for (uint c = t; c < BC; c += WG) {
      const int pos = p0 + int(c);
      int kp = -1;
      uint slot = 0;
      if (pos < hi) {
        const int block = block_table[p.table_off + uint(seq) * p.max_blocks + uint(pos) / p.block_size];
        if (block >= 0 && uint(block) < n_blocks) {
          kp = pos;
          slot = uint(block) * p.block_size + uint(pos) % p.block_size;
        }
      }
      tile_pos[c] = kp;
      tile_slot[c] = slot;
    }
    barrier();
    // Every invocation reaches the same answer: the branch is uniform.
    bool any_visible = false;
    for (uint c = 0; c < BC; ++c) any_visible = any_visible || key_visible_to_range(tile_pos[c], q_min, q_max);
    if (!any_visible) {
      barrier();  // tile_pos is rewritten by the next tile
      continue;
    }

    for (uint e = t; e < BC * D; e += WG) {
      const uint c = e / D;
      kv_s[e] = TILE_T(tile_pos[c] >= 0 ? float(k[p.k_off + tile_slot[c] * kv_stride + kv_head * D + e % D]) : 0.0);
    }
    barrier();
    scores_product(rows, BC, D, D, D, BC, false);
    barrier();

    // Online softmax, one row per invocation: scores (masked), new maximum, probabilities,
    // running sum.
    for (uint r = t; r < rows; r += WG) {
      const int qp = row_qpos[r];
      float tile_max = neg_inf();
      for (uint c = 0; c < BC; ++c) {
        const float s = key_visible(tile_pos[c], qp) ? attention_score(s_s[r * BC + c]) : neg_inf();
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
      kv_s[e] = TILE_T(tile_pos[c] >= 0 ? float(v[p.v_off + tile_slot[c] * kv_stride + kv_head * D + e % D]) : 0.0);
    }
    for (uint e = t; e < rows * D; e += WG) o_s[e] *= row_alpha[e / D];
    barrier();
    output_product(rows, D, BC, BC, D, D, true);
    barrier();
  }

  const uint rows_total = p.m * p.n_head;
  const uint ml_base = p.part_off + p.n_chunks * rows_total * D;
  for (uint e = t; e < rows * D; e += WG) {
    const uint r = e / D;
    const uint out_row = (first + r / group) * p.n_head + kv_head * group + r % group;
    if (p.n_chunks == 1) {
      o[p.o_off + out_row * D + e % D] = o_s[e] * softmax_normalizer(row_sum[r]);
    } else {
      part[p.part_off + (chunk * rows_total + out_row) * D + e % D] = o_s[e];
      if (e % D == 0) {
        part[ml_base + (chunk * rows_total + out_row) * 2] = row_max[r];
        part[ml_base + (chunk * rows_total + out_row) * 2 + 1] = row_sum[r];
      }
    }
  }
}
