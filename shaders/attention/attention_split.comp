#version 450
// Split-K decode attention ("flash-decoding"), pass 1. The cache is cut into n_chunks ranges of
// chunk_len slots; a workgroup owns one (token, kv head, group of HG query heads, chunk) and runs
// the online softmax over its range only. With one chunk it writes the
// normalized output itself (one dispatch); with several it writes, per (chunk, row), the
// unnormalized accumulator o, the running maximum m and the sum l to `part`, and
// attention_reduce.comp combines the chunks (log-sum-exp rescale). A long context then keeps as
// many workgroups busy as the host asks for, instead of one per head; a short one is one chunk,
// one dispatch.
//
// GQA/MQA: the HG query heads of a workgroup share its kv head, so each K and V element is read
// once for all of them (scores and accumulators are kept per head in registers).
//
// Memory access: invocation t owns cache slot j0 + t of each step of SPLIT_WG slots (its scores,
// its probability). A slot's key is D consecutive elements and slots are n_kv_head * D elements
// apart, so owners reading their own keys have a subgroup touch one cache line per lane at every
// load. With STAGED_KEYS (the GPU variant) the workgroup loads the keys through a stage in
// shared memory instead (attention/split_key_stage.h: 32 keys x 32 dimensions at a time, 32
// consecutive invocations reading 32 consecutive elements), keys rotated as they are loaded, and
// each owner takes its dot products from the stage. Without it (the CPU-class variant) each
// owner reads its own key: a CPU driver gains nothing from coalescing and pays for the stage's
// barriers and shared-memory traffic (lavapipe, measured: decode attention 2.3x slower staged at
// head size 64, 4.3x at 8). Values are read by dimension in both (consecutive invocations,
// consecutive dimensions of one slot).
// The direct variant reads keys and values four elements per load where the cache allows it
// (vec4_kv: D a multiple of 4, k and v bound at multiples of 4 elements): a CPU driver pays per
// load instruction, not per byte, so a key of 64 elements costs 16 loads instead of 64 (the
// elements past a rotation done in the kernel), and each value owner sums every R-th slot of 4
// dimensions instead of every slot of one. The direct variants also reduce the scores' maxima and
// sums with subgroup arithmetic (reduce_heads).
//
// Visibility, key rotation, scores and the online softmax: attention/common.glsl. A chunk that
// sees nothing writes m = -inf, l = 0, o = 0; a row that sees nothing gets zeros.
//
// With PAGED_ATTENTION (paged_direct_kv_*: the batched engine's paged cache on CPU-class devices)
// the "slots" a row walks are its sequence's positions 0..q_pos, each read through the block
// table (binding 4) at its pool slot; seq_rows (binding 6) names the token's table row (-1:
// padding, it sees nothing). No key rotation (the pool holds rotated keys). Each query row has
// workgroups of its own and walks its positions on the grid of SPLIT_WG from position 0, so its
// result depends on its own q, position and sequence only, whatever else the step holds (batch
// invariance, as paged_attention.comp's header states it for the tiled kernel).
//
// Tensors as in attention/common.glsl, and
// part: [n_chunks, m * n_head, D] f32 accumulators, then [n_chunks, m * n_head, 2] f32 (m, l).
// Constants 1-2 as in attention/common.glsl; 3 HG (query heads per workgroup, 1..MAX_HG).
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#if defined(PAGED_ATTENTION) && defined(STAGED_KEYS)
#error "the paged split kernel reads its keys directly (a CPU-class device's variant)"
#endif
#include "common/types.glsl"
#include "common/grid.glsl"
#define ATTENTION_SPLIT 1
#include "attention/params.glsl"
#include "attention/common.glsl"
#include "attention/split_key_stage.h"

// The workgroup has exactly SPLIT_WG invocations (the host checks the kernel row): per-head
// shared arrays are sized by it, and with D <= 256 an invocation owns at most 256 / SPLIT_WG
// output dimensions per head.
#define SPLIT_WG 64
#define MAX_DIMS 4
#define MAX_HG 8

layout(constant_id = 3) const uint HG = 1;

layout(set = 0, binding = 7) writeonly buffer PartBuf { float part[]; };
// The cache as vectors of 4 elements (vec4_kv; never read by the STAGED_KEYS variant).
#if defined(KV_F16)
layout(set = 0, binding = 1) readonly buffer KBuf4 { f16vec4 k4[]; };
layout(set = 0, binding = 2) readonly buffer VBuf4 { f16vec4 v4[]; };
#else
layout(set = 0, binding = 1) readonly buffer KBuf4 { vec4 k4[]; };
layout(set = 0, binding = 2) readonly buffer VBuf4 { vec4 v4[]; };
#endif
#if defined(PAGED_ATTENTION)
layout(set = 0, binding = 6) readonly buffer SeqRowsBuf { int seq_rows[]; };
#endif

// The key stage and the per-head arrays of the softmax are never live at once (the keys are
// staged and consumed before the scores are reduced, and the next keys are staged after the
// values have used the probabilities), so they share one array: it stays inside the 16 KiB every
// device has with 8 heads of 256 dimensions.
const uint HEAD_FLOATS = MAX_HG * SPLIT_WG;
const uint WORK_FLOATS = SPLIT_STAGE_FLOATS > 2 * HEAD_FLOATS ? SPLIT_STAGE_FLOATS : 2 * HEAD_FLOATS;
const uint RED = 0;            // work[RED + h * SPLIT_WG + t]: per head, the reduction scratch
const uint PROB = HEAD_FLOATS; // work[PROB + h * SPLIT_WG + t]: per head, the current probabilities

shared vec4 q_s4[(HG * D + 3) / 4];  // the queries of the workgroup's heads, 4 elements a vector
#define q_s(i) q_s4[(i) / 4][(i) % 4]
shared float work[WORK_FLOATS];    // the key stage (split_key_stage.h), or red and prob
shared int slot_pos[SPLIT_WG];     // the position of each slot of the step, -1 if not visible
#if defined(PAGED_ATTENTION)
shared uint pool_slot[SPLIT_WG];   // where each position of the step lives in the pool
#endif

// Tree reduction of work[RED + h * SPLIT_WG + t] over t for every head at once (one set of
// barriers for all HG heads); the result of head h is left in work[RED + h * SPLIT_WG]. Uniform
// control flow; the caller fills it before and puts a barrier between reading the result and
// refilling it.
#if !defined(STAGED_KEYS)
// The direct variants (CPU-class devices) reduce each subgroup with subgroup arithmetic and then
// the subgroups' results: 2 barriers instead of the tree's 7. A CPU driver switches between a
// workgroup's subgroups at every barrier (lavapipe: smollm2-135m's 30 decode attentions of a
// step, 4.5-5.5 ms with the tree, 3.7-4.3 ms this way and with the shuffle fold below, by
// timestamps, which overstate small kernels: docs/performance.md). Subgroups of at least 4 lanes
// (the kernel rows' requirement): at most SPLIT_WG / 4 of them.
shared float subgroup_part[MAX_HG * SPLIT_WG / 4];
void reduce_heads(bool take_max) {
  const uint t = gl_LocalInvocationID.x;
  for (uint h = 0; h < HG; ++h) {
    const float v = work[RED + h * SPLIT_WG + t];
    const float r = take_max ? subgroupMax(v) : subgroupAdd(v);
    if (subgroupElect()) subgroup_part[h * (SPLIT_WG / 4) + gl_SubgroupID] = r;
  }
  barrier();
  if (t == 0) {
    for (uint h = 0; h < HG; ++h) {
      float r = subgroup_part[h * (SPLIT_WG / 4)];
      for (uint s = 1; s < gl_NumSubgroups; ++s) {
        const float b = subgroup_part[h * (SPLIT_WG / 4) + s];
        r = take_max ? max(r, b) : r + b;
      }
      work[RED + h * SPLIT_WG] = r;
    }
  }
  barrier();
}
#else
void reduce_heads(bool take_max) {
  const uint t = gl_LocalInvocationID.x;
  barrier();
  for (uint s = SPLIT_WG / 2; s > 0; s >>= 1) {
    if (t < s) {
      for (uint h = 0; h < HG; ++h) {
        const float a = work[RED + h * SPLIT_WG + t];
        const float b = work[RED + h * SPLIT_WG + t + s];
        work[RED + h * SPLIT_WG + t] = take_max ? max(a, b) : a + b;
      }
    }
    barrier();
  }
}
#endif

#if !defined(STAGED_KEYS)
// Adds q_s[h] . (key at kb, rotated to position kp when ROPE_MODE != 0) to dots[h]; each key
// element is read (and rotated) once for all heads.
void key_dots(uint kb, int kp, bool vec4_kv, inout float dots[MAX_HG]) {
  uint d0 = 0;
#if !defined(PAGED_ATTENTION)
  if (ROPE_MODE != 0) {
    for (uint i = 0; i < p.n_rot / 2; ++i) {
      const uvec2 dims = rotation_pair(i);
      const vec2 r = rotated_key_pair(kb, i, kp);
      for (uint h = 0; h < HG; ++h) dots[h] += q_s(h * D + dims.x) * r.x + q_s(h * D + dims.y) * r.y;
    }
    d0 = p.n_rot;
  }
#endif
  if (vec4_kv && d0 % 4 == 0) {
    for (uint d4 = d0 / 4; d4 < D / 4; ++d4) {
      const vec4 kd = vec4(k4[kb / 4 + d4]);
      for (uint h = 0; h < HG; ++h) dots[h] += dot(q_s4[h * (D / 4) + d4], kd);
    }
    return;
  }
  for (uint d = d0; d < D; ++d) {
    const float kd = float(k[kb + d]);
    for (uint h = 0; h < HG; ++h) dots[h] += q_s(h * D + d) * kd;
  }
}
#else
// Adds q_s[h] . (key of slot j0 + t) to dots[h], for the slots of the step starting at j0 whose
// positions slot_pos holds (published by a barrier before; not visible: no read, nothing added).
// The keys come through the stage, SPLIT_STAGE_KEYS slots x SPLIT_STAGE_DIMS dimensions at a
// time, loaded by every invocation, rotated to their positions as they are loaded when
// ROPE_MODE != 0; each element is read (and rotated) once for all heads. Uniform control flow;
// it leaves the stage free (a barrier after its last read).
void staged_key_dots(uint j0, uint kv_head, uint kv_stride, inout float dots[MAX_HG]) {
  const uint t = gl_LocalInvocationID.x;
  for (uint c0 = 0; c0 < SPLIT_WG; c0 += SPLIT_STAGE_KEYS) {
    for (uint d0 = 0; d0 < D; d0 += SPLIT_STAGE_DIMS) {
      barrier();  // the previous stage has been read
      for (uint step = 0; step < stage_load_steps(SPLIT_WG); ++step) {
        const uint c = stage_load_key(t, step, SPLIT_WG);
        const uint d = d0 + stage_load_dim(t, step, SPLIT_WG);
        const int kp = slot_pos[c0 + c];
        float x = 0.0;
        if (kp >= 0 && d < D) x = key_element(key_index(p.k_off, j0 + c0 + c, kv_stride, kv_head, D, 0), d, kp);
        work[stage_index(c, stage_load_dim(t, step, SPLIT_WG))] = x;
      }
      barrier();
      const uint c = t - c0;  // t's key in this stage, if it is there (wraps otherwise)
      if (c < SPLIT_STAGE_KEYS && slot_pos[t] >= 0) {
        const uint n = min(SPLIT_STAGE_DIMS, D - d0);
        for (uint dd = 0; dd < n; ++dd) {
          const float kd = work[stage_index(c, dd)];
          for (uint h = 0; h < HG; ++h) dots[h] += q_s(h * D + d0 + dd) * kd;
        }
      }
    }
  }
  barrier();  // the stage is free for the per-head arrays
}
#endif

// Dimension i (0..MAX_DIMS-1) of those value owner `own` sums, or D past them: 4 consecutive
// ones with vec4_kv; else one (R > 1) or own, own + SPLIT_WG, ... (R == 1).
uint owned_dim(uint own, uint i, bool vec4_kv, uint R) {
  if (vec4_kv) return 4 * own + i;
  if (R > 1) return i == 0 ? own : D;
  return own + i * SPLIT_WG;
}

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint group_heads = p.n_head / p.n_kv_head;  // query heads per kv head
  const uint head_groups = group_heads / HG;
  const uint g = group_index();  // ((token * n_kv_head + kv_head) * head_groups + hg) * n_chunks + chunk
  if (g >= p.m * p.n_kv_head * head_groups * p.n_chunks) return;
  const uint chunk = g % p.n_chunks;
  const uint hg = (g / p.n_chunks) % head_groups;
  const uint kv_head = (g / (p.n_chunks * head_groups)) % p.n_kv_head;
  const uint token = g / (p.n_chunks * head_groups * p.n_kv_head);
  const uint row0 = token * p.n_head + kv_head * group_heads + hg * HG;  // the first (token, head) row
  const uint kv_stride = p.n_kv_head * D;  // elements between consecutive slots

  for (uint i = t; i < HG * D; i += SPLIT_WG) q_s(i) = q[p.q_off + row0 * D + i];
#if !defined(PAGED_ATTENTION)
  load_key_rotation(t, SPLIT_WG);
#endif
  barrier();

  // Keys and values as vectors of 4 (uniform: the direct variant only, see the header).
#if defined(STAGED_KEYS)
  const bool vec4_kv = false;
#else
  const bool vec4_kv = D % 4 == 0 && p.k_off % 4 == 0 && p.v_off % 4 == 0;
#endif
  // The value phase: `owners` invocations own the dimensions, 4 consecutive ones each with
  // vec4_kv, else one each (t, t + SPLIT_WG, ... when D > SPLIT_WG); R invocations share an
  // owner's dimensions, each summing every R-th key (combined at the end).
  const uint owners = vec4_kv ? D / 4 : min(D, uint(SPLIT_WG));
  const uint R = SPLIT_WG / owners;
#if defined(STAGED_KEYS)
  // Consecutive invocations read consecutive dimensions of a slot (coalesced on a GPU).
  const uint own = t % owners;
  const uint my_r = t / owners;
#else
  // An owner's R sharers are neighbours, so that inside one subgroup they fold with shuffles.
  const uint own = t / R;
  const uint my_r = t % R;
#endif
  const bool v_active = t < R * owners;

  float run_max[MAX_HG];
  float part_sum[MAX_HG];  // this invocation's share of l, scaled like the accumulators
  float acc[MAX_HG * MAX_DIMS];
  for (uint h = 0; h < HG; ++h) {
    run_max[h] = neg_inf();
    part_sum[h] = 0.0;
    for (uint i = 0; i < MAX_DIMS; ++i) acc[h * MAX_DIMS + i] = 0.0;
  }

  const int qp = q_pos[p.q_pos_off + token];
  const uint first = chunk * p.chunk_len;
#if defined(PAGED_ATTENTION)
  // Positions 0..qp of the token's sequence; a padding row (or one outside the table) walks none.
  const int seq_row = seq_rows[p.seq_rows_off + token];
  const bool has_row = seq_row >= 0 && uint(seq_row) < p.n_rows && qp >= 0;
  const uint pool_blocks = p.n_slots / p.block_size;
  const uint last = has_row ? min(min(p.max_blocks * p.block_size, first + p.chunk_len), uint(qp) + 1) : first;
#else
  const uint last = min(p.n_slots, first + p.chunk_len);
#endif
  for (uint j0 = first; j0 < last; j0 += SPLIT_WG) {
    const uint j = j0 + t;
    bool visible = false;
    if (j < last) {
#if defined(PAGED_ATTENTION)
      const int block = block_table[p.table_off + uint(seq_row) * p.max_blocks + j / p.block_size];
      const bool filled = block >= 0 && uint(block) < pool_blocks;
      const int kp = filled ? int(j) : -1;
      pool_slot[t] = filled ? uint(block) * p.block_size + j % p.block_size : 0u;
#else
      const int kp = kv_pos[p.kv_pos_off + j];
#endif
      visible = key_visible(kp, qp);
      slot_pos[t] = visible ? kp : -1;
    } else {
      slot_pos[t] = -1;
    }
    float dots[MAX_HG];
    for (uint h = 0; h < HG; ++h) dots[h] = 0.0;
#if defined(STAGED_KEYS)
    staged_key_dots(j0, kv_head, kv_stride, dots);  // its first barrier publishes slot_pos
#else
#if defined(PAGED_ATTENTION)
    if (visible) key_dots(p.k_off + pool_slot[t] * kv_stride + kv_head * D, slot_pos[t], vec4_kv, dots);
#else
    if (visible) key_dots(p.k_off + j * kv_stride + kv_head * D, slot_pos[t], vec4_kv, dots);
#endif
#endif
    for (uint h = 0; h < HG; ++h) {
      dots[h] = visible ? attention_score(dots[h]) : neg_inf();
      work[RED + h * SPLIT_WG + t] = dots[h];
    }
    reduce_heads(true);
    // Visibility does not depend on the head: either every head has a finite maximum or none.
    if (work[RED] == neg_inf()) {  // uniform: no visible key in these SPLIT_WG slots
      barrier();                   // read by all before the next slots overwrite slot_pos and work
      continue;
    }
    for (uint h = 0; h < HG; ++h) {
      const float alpha = softmax_rescale(run_max[h], work[RED + h * SPLIT_WG]);
      const float pj = softmax_weight(dots[h], run_max[h]);
      work[PROB + h * SPLIT_WG + t] = pj;
      part_sum[h] = part_sum[h] * alpha + pj;
      for (uint i = 0; i < MAX_DIMS; ++i) acc[h * MAX_DIMS + i] *= alpha;
    }
    barrier();  // publishes the probabilities; the maxima have been read
    if (v_active) {
      const uint count = min(uint(SPLIT_WG), last - j0);
      for (uint jj = my_r; jj < count; jj += R) {
#if defined(PAGED_ATTENTION)
        // A position the row does not see weighs exactly 0; its pool slot may be another
        // sequence's or unwritten, so it is not read at all.
        if (slot_pos[jj] < 0) continue;
        const uint vb = p.v_off + pool_slot[jj] * kv_stride + kv_head * D;
#else
        const uint vb = p.v_off + (j0 + jj) * kv_stride + kv_head * D;
#endif
        if (vec4_kv) {
          const vec4 vd = vec4(v4[vb / 4 + own]);
          for (uint h = 0; h < HG; ++h) {
            const float pj = work[PROB + h * SPLIT_WG + jj];
            acc[h * MAX_DIMS + 0] += pj * vd.x;
            acc[h * MAX_DIMS + 1] += pj * vd.y;
            acc[h * MAX_DIMS + 2] += pj * vd.z;
            acc[h * MAX_DIMS + 3] += pj * vd.w;
          }
          continue;
        }
        for (uint i = 0; i < MAX_DIMS; ++i) {
          const uint d = owned_dim(own, i, vec4_kv, R);
          if (d >= D) break;
          const float vd = float(v[vb + d]);
          for (uint h = 0; h < HG; ++h) acc[h * MAX_DIMS + i] += work[PROB + h * SPLIT_WG + jj] * vd;
        }
      }
    }
    barrier();  // the probabilities and slot_pos are rewritten by the next slots
  }

  // l per head: the sum of every invocation's share (all are relative to the same run_max).
  for (uint h = 0; h < HG; ++h) work[RED + h * SPLIT_WG + t] = part_sum[h];
  reduce_heads(false);
  float sums[MAX_HG];
  for (uint h = 0; h < HG; ++h) sums[h] = work[RED + h * SPLIT_WG];
  barrier();
  // Fold the R partial accumulators of each owned dimension: into each sharer (shuffles), else
  // into invocation t < owners for owner t (shared memory).
#if !defined(STAGED_KEYS)
  // Sharers in one subgroup (R a power of two dividing its size): butterfly shuffles, no barrier
  // (a CPU driver switches between the workgroup's subgroups at every barrier).
  const bool shuffle_fold = R > 1 && (R & (R - 1)) == 0 && R <= gl_SubgroupSize;
  if (shuffle_fold) {
    for (uint i = 0; i < (vec4_kv ? 4 : 1); ++i) {
      for (uint h = 0; h < HG; ++h) {
        float a = v_active ? acc[h * MAX_DIMS + i] : 0.0;
        for (uint s = 1; s < R; s <<= 1) a += subgroupShuffleXor(a, s);
        acc[h * MAX_DIMS + i] = a;
      }
    }
  }
#else
  const bool shuffle_fold = false;
#endif
  if (R > 1 && !shuffle_fold) {  // through shared memory
    for (uint i = 0; i < (vec4_kv ? 4 : 1); ++i) {
      for (uint h = 0; h < HG; ++h) work[RED + h * SPLIT_WG + t] = v_active ? acc[h * MAX_DIMS + i] : 0.0;
      barrier();
      if (t < owners) {
        for (uint h = 0; h < HG; ++h) {
          float a = 0.0;
          for (uint r = 0; r < R; ++r) {
#if defined(STAGED_KEYS)
            a += work[RED + h * SPLIT_WG + r * owners + t];
#else
            a += work[RED + h * SPLIT_WG + t * R + r];
#endif
          }
          acc[h * MAX_DIMS + i] = a;
        }
      }
      barrier();  // read by all before the next dimension overwrites work
    }
  }

  // Who stores owner `stored`'s dimensions: its first sharer after a shuffle fold, else t < owners.
  const bool stores = shuffle_fold ? my_r == 0 && v_active : t < owners;
  const uint stored = shuffle_fold ? own : t;
  const uint rows = p.m * p.n_head;
  const uint ml_base = p.part_off + p.n_chunks * rows * D;
  for (uint h = 0; h < HG; ++h) {
    const uint row = row0 + h;
    if (p.n_chunks == 1) {
      const float inv = softmax_normalizer(sums[h]);
      for (uint i = 0; i < MAX_DIMS; ++i) {
        const uint d = stores ? owned_dim(stored, i, vec4_kv, R) : D;
        if (d >= D) break;
        o[p.o_off + row * D + d] = acc[h * MAX_DIMS + i] * inv;
      }
    } else {
      const uint slot = chunk * rows + row;
      for (uint i = 0; i < MAX_DIMS; ++i) {
        const uint d = stores ? owned_dim(stored, i, vec4_kv, R) : D;
        if (d >= D) break;
        part[p.part_off + slot * D + d] = acc[h * MAX_DIMS + i];
      }
      if (t == 0) {
        part[ml_base + slot * 2] = run_max[h];
        part[ml_base + slot * 2 + 1] = sums[h];
      }
    }
  }
}
