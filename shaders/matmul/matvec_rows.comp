#version 450
// Row-parallel matrix product: out[t, r] = sum_k w[r, k] * x[t, k], for decode (one token) and,
// on CPU-class devices, for prefill. A workgroup owns ROWS output rows of TOKENS consecutive
// tokens. Each row is split over LANES invocations (a cluster inside one subgroup), reduced with
// subgroup shuffles; every invocation keeps TOKENS accumulators, so a weight block is decoded
// once, in registers, and multiplied with TOKENS activation rows. Weights are read packed.
//
// Why these knobs (the kernel table sets them per device class):
// - LANES = 1 (CPU drivers such as lavapipe): an invocation walks its whole row; the SIMD lanes
//   of one subgroup hold different rows at the same k, so they all need the same activations
//   (loaded once per block by 8 lanes and broadcast, see BLOCK_X) and nothing is reduced.
// - LANES = 8 (GPUs): neighbouring invocations read neighbouring blocks of one row.
// - TOKENS > 1 reuses each decoded block TOKENS times (prefill without shared memory).
// Rows and tokens of a workgroup never straddle tiles of the other, so the token index is
// uniform per workgroup. No barrier (but NORM's and ROPE's subgroup one) and no shared memory.
//
// lavapipe (Mesa 25.0) runs every storage-buffer load as a loop over the SIMD lanes, whether
// the address is uniform or not, so it pays per load instruction rather than per byte (about
// 45 cycles each, measured). Hence few, wide loads: Q4_0, Q5_0 and Q8_0 rows are read two blocks
// (36, 44 or 68 bytes) at a time as 16-byte vectors when every pair starts 4-byte aligned
// (PAIRS_ALIGNED: n_in a multiple of 64 and an even word offset), else block by block as 16-bit
// words. Weights: every type with Vulkan kernels (W_<TYPE>; the other W_CHUNKED quantized types
// chunk by chunk); activations f32 or f16 (X_F16).
// w: [n_out, n_in], x: [m, n_in], out: [m, n_out] f32.
//
// Fused decode variants (one token in practice; any m works) read several matrices of one type
// and n_in, in bindings 0..W_COUNT-1 (x and out follow):
// - CAT (matmul_cat, W_COUNT 3): out = [x w0^T | x w1^T | x w2^T], rows0 + rows1 + rest = n_out
//   (a two-weight group leaves weight 2 without rows). Each workgroup's row tile lies in one
//   matrix, chosen from its group index: the branch is uniform, so the uniform activation loads
//   stay scalar (see main).
// - SWIGLU (matmul_swiglu, W_COUNT 2): out = silu(x w0^T) * (x w1^T), n_out rows of each; an
//   invocation sums its row of both matrices, so neither product goes to memory.
// - NORM (with ADD, matmul_add and the rms_norm_mul of its result, CPU-class devices): after the
//   stores, the subgroup that finishes last normalizes the result (matmul/rows_norm.glsl: an
//   atomic count of arrivals, a subgroup barrier; still no shared memory).
// - ROPE (with CAT, matmul_cat and the rope of its q and k heads with the KV-cache writes that
//   rope performs, CPU-class devices): likewise, the subgroup that finishes last rotates and writes
//   (matmul/rows_rope.glsl).
// With TAIL (any of the four forms) each matrix's product gains a low-rank tail before anything
// else (the residual, the activation): factor_i * (b_i t_i), a LoRA adapter's B (A x)
// (matmul/tail_share.glsl), so an adapter costs no dispatch of its own here.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_ballot : require
#if defined(NORM)
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common/types.glsl"
#include "common/grid.glsl"
#include "common/quant.glsl"

#if defined(X_F16)
#define X_T F16_T
#else
#define X_T F32_T
#endif

layout(constant_id = 1) const uint ROWS = 32;   // output rows per workgroup
layout(constant_id = 2) const uint LANES = 1;   // invocations per row: a power of two <= subgroup size
layout(constant_id = 3) const uint TOKENS = 1;  // tokens per workgroup (accumulators per invocation)
// Set by the host from the tensors' offsets; constants rather than push-constant flags so the
// driver compiles one path only (a CPU driver's compile time grows with the unrolled code).
layout(constant_id = 4) const uint PAIRS_ALIGNED = 0;  // 1: block pairs / f16 pairs as 32-bit words
layout(constant_id = 5) const uint X_SHARED = 0;       // 1: x_off and n_in multiples of 4 (BLOCK_X)
#define MAX_TOKENS 8

#include "matmul/params.glsl"
#define X_BINDING W_COUNT
#define O_BINDING (W_COUNT + 1)

layout(set = 0, binding = X_BINDING) readonly buffer XBuf { X_T x[]; };
#if defined(NORM) || defined(ROPE)
// Re-read by the last subgroup: rows_norm.glsl, rows_rope.glsl.
layout(set = 0, binding = O_BINDING) coherent buffer OutBuf { float o[]; };
#else
layout(set = 0, binding = O_BINDING) writeonly buffer OutBuf { float o[]; };
#endif

// ADD (matmul_add): the epilogue adds r [m, n_out] f32 (a residual) to each stored sum, read at
// the index the sum is written to, so r may share the output's bytes.
#if defined(ADD)
layout(set = 0, binding = 3) readonly buffer ResBuf { float residual[]; };
#define EPILOGUE(sum, token, row) ((sum) + residual[p.r_off + (token) * p.n_out + (row)])
#else
#define EPILOGUE(sum, token, row) (sum)
#endif

#if defined(TAIL)
#if defined(ADD)
#define TAIL_BINDING (O_BINDING + 2)  // after the residual
#else
#define TAIL_BINDING (O_BINDING + 1)
#endif
#define TAIL_VEC4_ID 6
#define TAIL_RANK_ID 7
#include "matmul/tails.glsl"
#define ADD_TAIL(member, row)                                                                          \
  [[unroll]] for (uint t = 0; t < TOKENS; ++t) acc[t] += member_tail(member, row, min(t0 + t, p.m - 1));
#else
#define ADD_TAIL(member, row)
#endif

// The activations' uniform-buffer view is the last binding (matmul/x_words.glsl).
#if defined(TAIL)
#define X_UNIFORM_BINDING (TAIL_BINDING + 2 * W_COUNT)
#elif defined(ADD)
#define X_UNIFORM_BINDING (O_BINDING + 2)
#else
#define X_UNIFORM_BINDING (O_BINDING + 1)
#endif
#define X_WORDS_BINDING X_BINDING
#include "matmul/x_words.glsl"

#if defined(NORM)
#define NORM_BINDING (X_UNIFORM_BINDING + 1)
#include "matmul/rows_norm.glsl"
#endif
#if defined(ROPE)
#define ROPE_BINDING (X_UNIFORM_BINDING + 1)
#include "matmul/rows_rope.glsl"
#endif

// Loops over tokens and over the words of a block carry [[unroll]]: with their bounds known
// after specialization the driver unrolls them, so acc[] and x_base[] live in registers
// (a dynamically indexed private array becomes per-lane scratch memory on a CPU driver).
float acc[MAX_TOKENS];
uint x_base[MAX_TOKENS];  // first activation of each token of the tile (clamped to the last token)

vec4 x4(uint t, uint k) {
  const uint a = x_base[t] + k;
  return vec4(float(x[a]), float(x[a + 1]), float(x[a + 2]), float(x[a + 3]));
}

#if defined(W_Q4_0) || defined(W_Q8_0) || defined(W_CHUNKED)
// The 32 activations of one block for token t, as eight vec4 (x0..x7 = values 4i..4i+3).
// With LANES 1 every invocation of a subgroup needs the same 32 values. A CPU driver pays
// per load instruction (tens of cycles each, uniform or not), so instead of 32 uniform loads
// each of the first 8 invocations loads one vec4 and the subgroup broadcasts them (register
// moves on a SIMD CPU). Needs subgroups of at least 8 and all of them active: control flow is
// uniform here (see main).
#define BLOCK_X(t, k0)                                                                   \
  vec4 x0, x1, x2, x3, x4_, x5, x6, x7;                                                  \
  if (LANES == 1 && X_SHARED != 0) {                                                   \
    const vec4 xs = x_vec4((x_base[t] + (k0)) / 4 + (gl_SubgroupInvocationID & 7u));      \
    x0 = subgroupBroadcast(xs, 0); x1 = subgroupBroadcast(xs, 1);                        \
    x2 = subgroupBroadcast(xs, 2); x3 = subgroupBroadcast(xs, 3);                        \
    x4_ = subgroupBroadcast(xs, 4); x5 = subgroupBroadcast(xs, 5);                       \
    x6 = subgroupBroadcast(xs, 6); x7 = subgroupBroadcast(xs, 7);                        \
  } else {                                                                               \
    x0 = x4(t, (k0)); x1 = x4(t, (k0) + 4); x2 = x4(t, (k0) + 8); x3 = x4(t, (k0) + 12);  \
    x4_ = x4(t, (k0) + 16); x5 = x4(t, (k0) + 20); x6 = x4(t, (k0) + 24); x7 = x4(t, (k0) + 28); \
  }
#endif

#if defined(W_Q4_0)
// The weights of a Q4_0 quant word (bytes 4i..4i+3 of the block) minus 8: low nibbles are
// weights 4i..4i+3, high nibbles weights 16+4i..16+4i+3. Signed conversions: an unsigned
// int-to-float has no single instruction on x86 before AVX-512.
vec4 lo4(uint v) { return vec4(ivec4((uvec4(v) >> uvec4(0, 8, 16, 24)) & 0xfu) - 8); }
vec4 hi4(uint v) { return vec4(ivec4((uvec4(v) >> uvec4(4, 12, 20, 28)) & 0xfu) - 8); }

// One Q4_0 block: scale d and its 16 quant bytes as four little-endian words. Four independent
// fma chains (one per vec4 component): explicit fma, since the driver does not contract a
// multiply and an add on its own.
void block_dot(float d, uvec4 q, uint k0) {
  [[unroll]] for (uint t = 0; t < TOKENS; ++t) {
    BLOCK_X(t, k0)
    vec4 s = lo4(q.x) * x0;
    s = fma(lo4(q.y), x1, s);
    s = fma(lo4(q.z), x2, s);
    s = fma(lo4(q.w), x3, s);
    s = fma(hi4(q.x), x4_, s);
    s = fma(hi4(q.y), x5, s);
    s = fma(hi4(q.z), x6, s);
    s = fma(hi4(q.w), x7, s);
    acc[t] = fma(d, (s.x + s.y) + (s.z + s.w), acc[t]);
  }
}
#elif defined(W_Q8_0)
// The four signed bytes of a little-endian word.
vec4 bytes4(uint v) { return vec4(ivec4(uvec4(v) << uvec4(24, 16, 8, 0)) >> 24); }

// One Q8_0 block: scale d and 32 signed quant bytes as eight little-endian words.
void block_dot(float d, uvec4 qa, uvec4 qb, uint k0) {
  [[unroll]] for (uint t = 0; t < TOKENS; ++t) {
    BLOCK_X(t, k0)
    vec4 s = bytes4(qa.x) * x0;
    s = fma(bytes4(qa.y), x1, s);
    s = fma(bytes4(qa.z), x2, s);
    s = fma(bytes4(qa.w), x3, s);
    s = fma(bytes4(qb.x), x4_, s);
    s = fma(bytes4(qb.y), x5, s);
    s = fma(bytes4(qb.z), x6, s);
    s = fma(bytes4(qb.w), x7, s);
    acc[t] = fma(d, (s.x + s.y) + (s.z + s.w), acc[t]);
  }
}
#elif defined(W_CHUNKED)
// One chunk of 32 weights, decoded with its scales (common/quant_blocks.glsl): w[i] = weights
// 4i..4i+3, multiplied with the activations k0.. of every token.
void chunk_dot(vec4 w[8], uint k0) {
  [[unroll]] for (uint t = 0; t < TOKENS; ++t) {
    BLOCK_X(t, k0)
    vec4 s = w[0] * x0;
    s = fma(w[1], x1, s);
    s = fma(w[2], x2, s);
    s = fma(w[3], x3, s);
    s = fma(w[4], x4_, s);
    s = fma(w[5], x5, s);
    s = fma(w[6], x6, s);
    s = fma(w[7], x7, s);
    acc[t] += (s.x + s.y) + (s.z + s.w);
  }
}
#if defined(W_Q5_0)
// One Q5_0 block read whole: scale d, fifth bits qh, 16 quant bytes as four words. Decoded once
// (d * q - 16 d, QB_CHUNK's operations) for every token of the tile.
void q5_0_chunk_dot(float d, uint qh, uvec4 q, uint k0) {
  const vec4 a = vec4(d), m = vec4(-16.0 * d);
  vec4 w[8];
  [[unroll]] for (uint i = 0; i < 4; ++i) {
    w[i] = fma(a, q5_0_lo4(q[i], qh, i), m);
    w[4 + i] = fma(a, q5_0_hi4(q[i], qh, i), m);
  }
  chunk_dot(w, k0);
}
#endif
#endif

#if defined(W_Q4_0) || defined(W_Q8_0) || defined(W_Q5_0)
#if defined(W_Q4_0)
#define PAIR_WORDS 9
#define PAIR_VEC4 3
#elif defined(W_Q5_0)
#define PAIR_WORDS 11
#define PAIR_VEC4 4
#else
#define PAIR_WORDS 17
#define PAIR_VEC4 5
#endif
uint pw[PAIR_WORDS];  // the current block pair's 32-bit words (rows_share.glsl)
#endif

// One weight binding and its row_share_<i> per matrix.
#define RS_INDEX 0
#include "matmul/rows_share.glsl"
#undef RS_INDEX
#if W_COUNT > 1
#define RS_INDEX 1
#include "matmul/rows_share.glsl"
#undef RS_INDEX
#endif
#if W_COUNT > 2
#define RS_INDEX 2
#include "matmul/rows_share.glsl"
#undef RS_INDEX
#endif

uint row_units() {
#if defined(W_Q8_0)
  return p.n_in / QK * Q8_0_BLOCK_WORDS;
#elif defined(W_Q4_0)
  return p.n_in / QK * Q4_0_BLOCK_WORDS;
#elif defined(W_CHUNKED)
  return p.n_in / WC_BLOCK_ELEMENTS * WC_BLOCK_WORDS;
#else
  return p.n_in;
#endif
}

// Sums of this invocation's rows (row_share_* into acc[]), reduced over its LANES cluster.
void reduce_lanes() {
  [[unroll]] for (uint t = 0; t < TOKENS; ++t) {
    for (uint s = LANES / 2; s > 0; s >>= 1) acc[t] += subgroupShuffleXor(acc[t], s);
  }
}

void main() {
#if defined(CAT)
  // Row tiles of weight 0, then of weight 1, then of weight 2: a tile never spans two matrices.
  const uint n0 = p.rows0, n1 = p.rows1, n2 = p.n_out - p.rows0 - p.rows1;
  const uint tiles0 = (n0 + ROWS - 1) / ROWS, tiles1 = (n1 + ROWS - 1) / ROWS;
  const uint row_tiles = tiles0 + tiles1 + (n2 + ROWS - 1) / ROWS;
#else
  const uint row_tiles = (p.n_out + ROWS - 1) / ROWS;
#endif
  const uint token_tiles = (p.m + TOKENS - 1) / TOKENS;
  const uint g = group_index();
  if (g >= row_tiles * token_tiles) return;  // uniform for the workgroup
  const uint t0 = (g / row_tiles) * TOKENS;
  uint tile = g % row_tiles;
#if defined(CAT)
  // The workgroup's matrix (uniform): its rows, its first output column, its first weight unit.
  uint sel = 0, n_rows = n0, first = 0;
  if (tile >= tiles0) {
    tile -= tiles0;
    sel = 1;
    n_rows = n1;
    first = n0;
    if (tile >= tiles1) {
      tile -= tiles1;
      sel = 2;
      n_rows = n2;
      first = n0 + n1;
    }
  }
#else
  const uint n_rows = p.n_out, first = 0;
#endif
  const uint r0 = tile * ROWS;
  // Tokens past m re-read the last token (valid memory, uniform) and are not stored.
  [[unroll]] for (uint t = 0; t < TOKENS; ++t) x_base[t] = p.x_off + min(t0 + t, p.m - 1) * p.n_in;

  const uint inv = gl_LocalInvocationID.x;
  const uint lane = inv % LANES;
  const uint slots = gl_WorkGroupSize.x / LANES;
  // A cluster of LANES invocations (inside one subgroup: LANES divides the subgroup size and
  // subgroups are consecutive invocations) walks the workgroup's rows together. Control flow
  // stays uniform up to the store: rows past n_rows recompute the last row instead of
  // branching, because a CPU driver turns the uniform activation reads into scalar loads only
  // outside divergent control flow (inside it they become per-lane gathers, ~8x slower here).
  for (uint r_first = 0; r_first < ROWS; r_first += slots) {
    const uint r = r_first + inv / LANES;
    const uint row = r0 + r;
    const uint clamped = min(row, n_rows - 1);
    const uint w_row = clamped * row_units();  // the row's first unit in its matrix
    [[unroll]] for (uint t = 0; t < TOKENS; ++t) acc[t] = 0.0;
#if defined(CAT)
    if (sel == 0) {
      row_share_0(p.w_off0 + w_row, lane);
    } else if (sel == 1) {
      row_share_1(p.w_off1 + w_row, lane);
    } else {
      row_share_2(p.w_off2 + w_row, lane);
    }
    reduce_lanes();
    ADD_TAIL(sel, clamped)
#elif defined(SWIGLU)
    row_share_0(p.w_off0 + w_row, lane);
    reduce_lanes();
    ADD_TAIL(0, clamped)
    float gate[MAX_TOKENS];
    [[unroll]] for (uint t = 0; t < TOKENS; ++t) {
      gate[t] = acc[t];
      acc[t] = 0.0;
    }
    row_share_1(p.w_off1 + w_row, lane);
    reduce_lanes();
    ADD_TAIL(1, clamped)
    // silu(gate) * up, silu as elementwise/swiglu computes it.
    [[unroll]] for (uint t = 0; t < TOKENS; ++t) acc[t] = gate[t] / (1.0 + exp(-gate[t])) * acc[t];
#else
    row_share_0(p.w_off0 + w_row, lane);
    reduce_lanes();
    ADD_TAIL(0, clamped)
#endif
    if (lane == 0 && r < ROWS && row < n_rows) {
      [[unroll]] for (uint t = 0; t < TOKENS; ++t) {
        if (t0 + t < p.m) o[p.o_off + (t0 + t) * p.n_out + first + row] = EPILOGUE(acc[t], t0 + t, row);
      }
    }
  }
#if defined(NORM)
  normalize_if_last(row_tiles * token_tiles * gl_NumSubgroups);
#endif
#if defined(ROPE)
  rope_if_last(row_tiles * token_tiles * gl_NumSubgroups);
#endif
}
