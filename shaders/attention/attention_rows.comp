#version 450
// Prefill attention for CPU-class devices: one query row ((token, query head) pair) per
// invocation, its query and output accumulators in registers, keys and values walked one slot at
// a time with the online softmax. No shared memory and no barrier (but for the key rotation's
// frequencies, below).
//
// Why this shape (lavapipe, Mesa 25.0: a subgroup is one 8-wide SIMD register, a workgroup a
// loop on one core, every storage-buffer load instruction a ~45-cycle loop over the lanes
// whatever its width): the tiled kernel (attention_tiled.comp) stages keys, values, scores and
// probabilities through shared memory with six barriers per tile, and a barrier splits a
// lavapipe workgroup into coroutines; its prefill ran at ~1/15 of the matrix products' FLOP rate.
// Here a workgroup's rows all belong to one kv head (rows are (token, query head) pairs of the
// heads sharing it, head fastest, as in the tiled kernel), so every lane of a subgroup needs the
// same key and value rows: the first 8 lanes load one 4-element vector each and the subgroup
// broadcasts them, 32 elements per load instruction, and each lane does its own D multiply-adds.
//
// Slots are taken in chunks of 8: the chunk's positions are loaded the same way, a chunk that no
// lane of the subgroup can see is skipped, and a slot whose key no lane sees is not read. The
// scores of a chunk are rescaled against its maximum once (softmax_rescale), so the accumulators
// are multiplied once per 8 slots.
//
// Needs (the host checks, else the tiled row runs): subgroups of at least 8 lanes (kernel row),
// D a multiple of 4 up to 128 (registers), q, k, v and out bound at multiples of 4 elements
// (vector reads and writes), and for keys rotated as read in neox mode a multiple of 8 rotated
// dimensions. The one barrier, with rotated keys only, follows the filling of their frequencies.
//
// Visibility, scores and the online softmax: attention/common.glsl. A row that sees nothing
// yields zeros. Tensors and constants 1-2 as in attention/common.glsl.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_vote : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require
#include "common/types.glsl"
#include "common/grid.glsl"
#include "attention/params.glsl"
#include "attention/common.glsl"

#if defined(KV_F16)
layout(set = 0, binding = 1) readonly buffer KBuf4 { f16vec4 k4[]; };
layout(set = 0, binding = 2) readonly buffer VBuf4 { f16vec4 v4[]; };
#else
layout(set = 0, binding = 1) readonly buffer KBuf4 { vec4 k4[]; };
layout(set = 0, binding = 2) readonly buffer VBuf4 { vec4 v4[]; };
#endif
layout(set = 0, binding = 0) readonly buffer QBuf4 { vec4 q4[]; };
layout(set = 0, binding = 5) writeonly buffer OutBuf4 { vec4 o4[]; };

const uint NV = D / 4;               // vectors per head row
const uint PER_LANE = (NV + 7) / 8;  // vectors of a shared row each of the first 8 lanes loads
#define CHUNK 8u                     // slots per chunk
// Register arrays at their largest (D <= 128, checked by the host); the loops over them run to
// NV and PER_LANE, and are unrolled once those are specialized, so the arrays stay registers.
#define MAX_NV 32
#define MAX_PER_LANE 4

vec4 qv[MAX_NV];              // this row's query
vec4 acc[MAX_NV];             // its unnormalized output
vec4 mine[MAX_PER_LANE];      // this lane's share of the key or value row being broadcast

// Loads this lane's share of the row of vectors starting at vector `base` of k (values: v): lane
// l < 8 takes vectors l, l + 8, ... (clamped to the row: lanes past its end repeat the last one).
void load_share(uint base, bool values) {
  const uint lane = gl_SubgroupInvocationID & 7u;
  [[unroll]] for (uint i = 0; i < PER_LANE; ++i) {
    const uint c = min(lane + 8 * i, NV - 1);
    mine[i] = values ? vec4(v4[base + c]) : vec4(k4[base + c]);
  }
}

// Keys stored unrotated (ROPE_MODE 1 normal, 2 neox: the KV ring) are rotated to their slot's
// position kp in this lane's share, before the broadcast, so the sines and cosines are spread
// over the lanes as the loads are. Normal pairs are neighbours, two to a vector; neox pairs are
// n_rot / 2 apart, a vector and the one n_rot / 8 vectors away (the host keeps n_rot a multiple
// of 8 for neox), fetched from the lane that loaded it.
void rotate_share(int kp) {
  const uint lane = gl_SubgroupInvocationID & 7u;
  vec4 rotated[MAX_PER_LANE];
  [[unroll]] for (uint i = 0; i < PER_LANE; ++i) {
    const uint c = min(lane + 8 * i, NV - 1);
    const vec4 x = mine[i];
    vec4 r = x;
    if (ROPE_MODE == 1) {
      [[unroll]] for (uint h = 0; h < 2; ++h) {
        const uint pair = 2 * c + h;
        if (2 * pair < p.n_rot) {
          const float theta = float(kp) * key_inv_freq[pair];
          const float cs = cos(theta), sn = sin(theta);
          r[2 * h] = x[2 * h] * cs - x[2 * h + 1] * sn;
          r[2 * h + 1] = x[2 * h] * sn + x[2 * h + 1] * cs;
        }
      }
    } else {
      const uint half_v = p.n_rot / 8;
      const bool first = c < half_v;
      const uint partner = first ? c + half_v : c - half_v;
      // Every lane takes part in every shuffle (uniform control flow); each keeps the one that
      // holds its partner.
      vec4 y = vec4(0.0);
      [[unroll]] for (uint s = 0; s < PER_LANE; ++s) {
        const vec4 from = subgroupShuffle(mine[s], partner % 8);
        if (partner / 8 == s) y = from;
      }
      if (4 * c < p.n_rot) {
        [[unroll]] for (uint e = 0; e < 4; ++e) {
          const uint pair = 4 * (first ? c : partner) + e;
          const float theta = float(kp) * key_inv_freq[pair];
          const float cs = cos(theta), sn = sin(theta);
          // First half: x0 c - x1 s with x1 the partner; second half: x0 s + x1 c, x0 the partner.
          r[e] = first ? x[e] * cs - y[e] * sn : y[e] * sn + x[e] * cs;
        }
      }
    }
    rotated[i] = r;
  }
  [[unroll]] for (uint i = 0; i < PER_LANE; ++i) mine[i] = rotated[i];
}

// Vector c of the shared row: lane c % 8's share (the lane index must be a constant
// expression: the loops over c are unrolled).
#define SHARED_VEC(c)                                                                                  \
  ((c) % 8 == 0   ? subgroupBroadcast(mine[(c) / 8], 0)                                                \
   : (c) % 8 == 1 ? subgroupBroadcast(mine[(c) / 8], 1)                                                \
   : (c) % 8 == 2 ? subgroupBroadcast(mine[(c) / 8], 2)                                                \
   : (c) % 8 == 3 ? subgroupBroadcast(mine[(c) / 8], 3)                                                \
   : (c) % 8 == 4 ? subgroupBroadcast(mine[(c) / 8], 4)                                                \
   : (c) % 8 == 5 ? subgroupBroadcast(mine[(c) / 8], 5)                                                \
   : (c) % 8 == 6 ? subgroupBroadcast(mine[(c) / 8], 6)                                                \
                  : subgroupBroadcast(mine[(c) / 8], 7))

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint WG = gl_WorkGroupSize.x;
  const uint group = p.n_head / p.n_kv_head;  // query heads per kv head
  const uint rows_total = p.m * group;
  const uint row_tiles = (rows_total + WG - 1) / WG;
  const uint g = group_index();
  if (g >= row_tiles * p.n_kv_head) return;
  const uint kv_head = g / row_tiles;
  const uint row_unclamped = (g % row_tiles) * WG + t;
  // Rows past the end recompute the last one, so control flow stays uniform up to the store and
  // every subgroup operation sees all its lanes.
  const uint row = min(row_unclamped, rows_total - 1);
  const uint head = kv_head * group + row % group;
  const uint qo = (p.q_off + ((row / group) * p.n_head + head) * D) / 4;  // also the output's row
  const int qp = q_pos[p.q_pos_off + row / group];
  [[unroll]] for (uint c = 0; c < NV; ++c) {
    qv[c] = q4[qo + c];
    acc[c] = vec4(0.0);
  }
  if (ROPE_MODE != 0) {
    load_key_rotation(t, WG);
    barrier();
  }
  float run_max = neg_inf();
  float run_sum = 0.0;
  // The subgroup's position range decides which chunks can matter at all.
  const int q_min = subgroupMin(qp);
  const int q_max = subgroupMax(qp);
  const uint kv_stride4 = p.n_kv_head * NV;  // vectors between consecutive slots
  const uint k_base = p.k_off / 4 + kv_head * NV;
  const uint v_base = p.v_off / 4 + kv_head * NV;

  for (uint c0 = 0; c0 < p.n_slots; c0 += CHUNK) {
    const uint lane = gl_SubgroupInvocationID & 7u;
    const int my_pos = c0 + lane < p.n_slots ? kv_pos[p.kv_pos_off + c0 + lane] : -1;
    if (!subgroupAny(key_visible_to_range(my_pos, q_min, q_max))) continue;
    int pos[CHUNK];
    pos[0] = subgroupBroadcast(my_pos, 0); pos[1] = subgroupBroadcast(my_pos, 1);
    pos[2] = subgroupBroadcast(my_pos, 2); pos[3] = subgroupBroadcast(my_pos, 3);
    pos[4] = subgroupBroadcast(my_pos, 4); pos[5] = subgroupBroadcast(my_pos, 5);
    pos[6] = subgroupBroadcast(my_pos, 6); pos[7] = subgroupBroadcast(my_pos, 7);

    float s[CHUNK];
    float chunk_max = neg_inf();
    [[unroll]] for (uint j = 0; j < CHUNK; ++j) {
      const bool visible = key_visible(pos[j], qp);
      s[j] = neg_inf();
      if (subgroupAny(visible)) {
        load_share(k_base + (c0 + j) * kv_stride4, false);
        if (ROPE_MODE != 0) rotate_share(pos[j]);
        vec4 d4 = vec4(0.0);
        [[unroll]] for (uint c = 0; c < NV; ++c) d4 = fma(qv[c], SHARED_VEC(c), d4);
        if (visible) s[j] = attention_score((d4.x + d4.y) + (d4.z + d4.w));
      }
      chunk_max = max(chunk_max, s[j]);
    }
    const float alpha = softmax_rescale(run_max, chunk_max);
    [[unroll]] for (uint c = 0; c < NV; ++c) acc[c] *= alpha;
    run_sum *= alpha;
    [[unroll]] for (uint j = 0; j < CHUNK; ++j) {
      const float w = softmax_weight(s[j], run_max);
      run_sum += w;
      if (subgroupAny(w != 0.0)) {
        load_share(v_base + (c0 + j) * kv_stride4, true);
        [[unroll]] for (uint c = 0; c < NV; ++c) acc[c] = fma(vec4(w), SHARED_VEC(c), acc[c]);
      }
    }
  }

  if (row_unclamped >= rows_total) return;
  const float inv = softmax_normalizer(run_sum);
  const uint oo = (p.o_off + ((row / group) * p.n_head + head) * D) / 4;
  [[unroll]] for (uint c = 0; c < NV; ++c) o4[oo + c] = acc[c] * inv;
}
