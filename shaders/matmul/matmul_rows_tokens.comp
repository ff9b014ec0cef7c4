#version 450
// Prefill matrix product for CPU-class devices: out[t, r] = sum_k w[r, k] * x[t, k], with a
// register tile of RPI output rows x TOKENS tokens per invocation.
//
// Why this shape (lavapipe, Mesa 25.0: a subgroup is one 8-wide SIMD register, a workgroup a
// loop on one core, every storage-buffer load instruction a ~45-cycle loop over the lanes
// whatever its width):
// - The lanes of a subgroup hold different rows at the same k, so they all need the same
//   activations: for each token and block, 8 lanes load one vec4 each and the subgroup
//   broadcasts them (register moves), 32 activations for one load instruction.
// - Each invocation owns RPI rows, so one broadcast block of activations feeds RPI rows, and
//   TOKENS tokens, so each weight block is loaded and decoded once and used TOKENS times. Load
//   instructions per multiply-add fall as 1/RPI (activations) + 1.5/TOKENS (weights) per block,
//   against 1 + 1.5/8 for the one-row kernel (matvec_rows.comp with TOKENS 8).
// - Q4_0, Q5_0 and Q8_0 rows are read two blocks at a time as 16-byte vectors (PAIRS_ALIGNED),
//   Q4_K super-blocks as 9 vectors where rows start at 16-byte boundaries (PAIRS_ALIGNED 2),
//   Q6_K super-blocks as windows of 18 vectors at any alignment, F32/F16
//   rows as vec4 / two 32-bit words per 4 weights (W4_ALIGNED).
// - No shared memory and no barrier (a barrier splits a lavapipe workgroup into coroutines);
//   control flow stays uniform up to the stores (rows and tokens past the end recompute the
//   last one), so every subgroup operation sees all its lanes.
// Weights: every type with Vulkan kernels (W_<TYPE>; the W_CHUNKED quantized types chunk by
// chunk); activations f32 or f16 (X_F16).
// w: [n_out, n_in], x: [m, n_in], out: [m, n_out] f32.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
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

layout(constant_id = 1) const uint RPI = 4;     // output rows per invocation (<= MAX_RPI)
layout(constant_id = 2) const uint TOKENS = 8;  // tokens per invocation (<= MAX_TOKENS)
// Set by the host from the tensors' offsets; constants rather than push-constant flags so the
// driver compiles one path only (a CPU driver's compile time grows with the unrolled code).
// Quantized: block pairs start at 4-byte boundaries (n_in a multiple of 64, even word offset).
// F32/F16: every row's 4-weight groups start at 16 / 8-byte boundaries (n_in and w_off0
// multiples of 4).
layout(constant_id = 3) const uint PAIRS_ALIGNED = 0;
layout(constant_id = 4) const uint X_SHARED = 0;  // 1: x_off and n_in multiples of 4 (vec4 reads)
#define MAX_RPI 8
#define MAX_TOKENS 16

#if defined(W_F32)
layout(set = 0, binding = 0) readonly buffer WeightBuf { float w_data[]; };
layout(set = 0, binding = 0) readonly buffer WeightBuf128 { vec4 w_vec4[]; };
#elif defined(W_F16)
layout(set = 0, binding = 0) readonly buffer WeightBuf { float16_t w_data[]; };
layout(set = 0, binding = 0) readonly buffer WeightBuf64 { uvec2 w64[]; };
#elif defined(W_Q8_0) || defined(W_Q4_0)
// Two views of one binding: 16-bit words (any block) and 16-byte vectors (aligned block pairs,
// w_load16).
layout(set = 0, binding = 0) readonly buffer WeightBuf { uint16_t w_data[]; };
layout(set = 0, binding = 0) readonly buffer WeightBuf128 { u64vec2 w128[]; };
#elif defined(W_BF16)
layout(set = 0, binding = 0) readonly buffer WeightBuf { uint16_t w_data[]; };
layout(set = 0, binding = 0) readonly buffer WeightBuf64 { uvec2 w64[]; };
#elif defined(W_CHUNKED)
layout(set = 0, binding = 0) readonly buffer WeightBuf { uint16_t w_data[]; };
layout(set = 0, binding = 0) readonly buffer WeightBuf32 { uint w32[]; };
#if defined(W_Q5_0) || defined(W_Q4_K) || defined(W_Q6_K)
// Q5_0 block pairs; Q4_K super-blocks at 16-byte boundaries (PAIRS_ALIGNED 2); Q6_K windows
// (w_load16).
layout(set = 0, binding = 0) readonly buffer WeightBuf128 { u64vec2 w128[]; };
#endif
#define QB_W w_data
#define QB_W32 w32
#define QB_ALIGNED (PAIRS_ALIGNED != 0)
#define QB_SCALES w_scales
#define QB_QUANTS w_quants
#define QB_CHUNK w_chunk
#define QB_VALUE w_block_value
#include "common/quant_blocks.glsl"
#else
#error "define W_<TYPE> for a type with Vulkan kernels in engine/core/weight_types.def"
#endif
#if defined(W_BF16)
#define W_ELEM(i) bf16_value(w_data[i])
#else
#define W_ELEM(i) float(w_data[i])
#endif

layout(set = 0, binding = 1) readonly buffer XBuf { X_T x[]; };
#define X_WORDS_BINDING 1
#define X_UNIFORM_BINDING 3  // after the output (matmul/x_words.glsl)
#include "matmul/x_words.glsl"
#if defined(W_Q4_0) || defined(W_Q8_0) || defined(W_Q5_0) || defined(W_Q4_K) || defined(W_Q6_K)
// The 16 bytes at 16-byte index i as four words, read as two 64-bit words (x_words.glsl says why).
uvec4 w_load16(uint i) {
  const u64vec2 v = w128[i];
  return uvec4(unpackUint2x32(v.x), unpackUint2x32(v.y));
}
#endif
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
#include "matmul/params.glsl"

// Every loop over tokens, rows and the words of a block carries [[unroll]]: with the bounds
// known after specialization the driver unrolls them and these arrays become registers (a
// dynamically indexed private array would be per-lane scratch memory on a CPU driver).
float acc[MAX_RPI * MAX_TOKENS];  // acc[j * TOKENS + t]: row j, token t of the tile
uint x_base[MAX_TOKENS];          // first activation of each token (clamped to the last token)
uint w_base[MAX_RPI];             // first weight unit of each row (clamped to the last row)
vec4 wv[MAX_RPI * 8];             // one decoded block (32 weights, unscaled) per row
float wd[MAX_RPI];                // its scale (1 for float weights)

vec4 x4(uint t, uint k) {
  const uint a = x_base[t] + k;
  return vec4(float(x[a]), float(x[a + 1]), float(x[a + 2]), float(x[a + 3]));
}

// The 32 activations k0..k0+31 of token t, then the block's products for every row of the tile.
// With X_SHARED each of the first 8 lanes loads one vec4 and the subgroup broadcasts them:
// needs subgroups of at least 8 with all lanes active (control flow is uniform, see main).
void tile_block(uint k0) {
  [[unroll]] for (uint t = 0; t < TOKENS; ++t) {
    vec4 xs[8];
    if (X_SHARED != 0) {
      // (The lane index of a broadcast must be a constant expression, hence written out.)
      const vec4 mine = x_vec4((x_base[t] + k0) / 4 + (gl_SubgroupInvocationID & 7u));
      xs[0] = subgroupBroadcast(mine, 0); xs[1] = subgroupBroadcast(mine, 1);
      xs[2] = subgroupBroadcast(mine, 2); xs[3] = subgroupBroadcast(mine, 3);
      xs[4] = subgroupBroadcast(mine, 4); xs[5] = subgroupBroadcast(mine, 5);
      xs[6] = subgroupBroadcast(mine, 6); xs[7] = subgroupBroadcast(mine, 7);
    } else {
      [[unroll]] for (uint i = 0; i < 8; ++i) xs[i] = x4(t, k0 + 4 * i);
    }
    [[unroll]] for (uint j = 0; j < RPI; ++j) {
      // Four independent fma chains (one per component); the driver does not contract a
      // multiply and an add by itself, hence explicit fma.
      vec4 s = wv[j * 8] * xs[0];
      [[unroll]] for (uint i = 1; i < 8; ++i) s = fma(wv[j * 8 + i], xs[i], s);
      acc[j * TOKENS + t] = fma(wd[j], (s.x + s.y) + (s.z + s.w), acc[j * TOKENS + t]);
    }
  }
}

#if defined(W_Q4_0)
// Weights of a Q4_0 quant word (bytes 4i..4i+3 of the block) minus 8: low nibbles are weights
// 4i..4i+3, high nibbles 16+4i..16+4i+3. Signed conversions: unsigned int-to-float has no single
// x86 instruction before AVX-512.
vec4 lo4(uint v) { return vec4(ivec4((uvec4(v) >> uvec4(0, 8, 16, 24)) & 0xfu) - 8); }
vec4 hi4(uint v) { return vec4(ivec4((uvec4(v) >> uvec4(4, 12, 20, 28)) & 0xfu) - 8); }
void decode(uint j, float d, uvec4 q) {
  wd[j] = d;
  wv[j * 8 + 0] = lo4(q.x); wv[j * 8 + 1] = lo4(q.y); wv[j * 8 + 2] = lo4(q.z); wv[j * 8 + 3] = lo4(q.w);
  wv[j * 8 + 4] = hi4(q.x); wv[j * 8 + 5] = hi4(q.y); wv[j * 8 + 6] = hi4(q.z); wv[j * 8 + 7] = hi4(q.w);
}
#define PAIR_WORDS 9
#define PAIR_VEC4 3
#elif defined(W_Q8_0)
vec4 bytes4(uint v) { return vec4(ivec4(uvec4(v) << uvec4(24, 16, 8, 0)) >> 24); }
void decode(uint j, float d, uvec4 qa, uvec4 qb) {
  wd[j] = d;
  wv[j * 8 + 0] = bytes4(qa.x); wv[j * 8 + 1] = bytes4(qa.y); wv[j * 8 + 2] = bytes4(qa.z); wv[j * 8 + 3] = bytes4(qa.w);
  wv[j * 8 + 4] = bytes4(qb.x); wv[j * 8 + 5] = bytes4(qb.y); wv[j * 8 + 6] = bytes4(qb.z); wv[j * 8 + 7] = bytes4(qb.w);
}
#define PAIR_WORDS 17
#define PAIR_VEC4 5
#elif defined(W_Q5_0)
// A Q5_0 block read whole (block pairs): scale d, the fifth bits qh, 16 quant bytes as 4 words.
void decode(uint j, float d, uint qh, uvec4 q) {
  wd[j] = d;
  wv[j * 8 + 0] = q5_0_lo4(q.x, qh, 0) - 16.0; wv[j * 8 + 1] = q5_0_lo4(q.y, qh, 1) - 16.0;
  wv[j * 8 + 2] = q5_0_lo4(q.z, qh, 2) - 16.0; wv[j * 8 + 3] = q5_0_lo4(q.w, qh, 3) - 16.0;
  wv[j * 8 + 4] = q5_0_hi4(q.x, qh, 0) - 16.0; wv[j * 8 + 5] = q5_0_hi4(q.y, qh, 1) - 16.0;
  wv[j * 8 + 6] = q5_0_hi4(q.z, qh, 2) - 16.0; wv[j * 8 + 7] = q5_0_hi4(q.w, qh, 3) - 16.0;
}
#define PAIR_WORDS 11
#define PAIR_VEC4 4
#endif

#if defined(W_Q4_0) || defined(W_Q8_0) || defined(W_Q5_0)
// The 32-bit words of one block pair of row j, read as whole 16-byte vectors from the 16-byte
// boundary below the pair (Q4_0, Q8_0: up to 12 bytes past it: the host rounds the binding up to
// 16 bytes, inside the allocation's own alignment); the shift selects the words. Q5_0's 44-byte
// pair needs its fourth vector only when it starts past the second word of one: that index is
// clamped to the binding, whose last pair may end before it.
uint pw[MAX_RPI * PAIR_WORDS];
void load_pair(uint j, uint word) {
  const uint base = word / 4, s = word % 4;
  uvec4 q[PAIR_VEC4];
#if defined(W_Q5_0)
  [[unroll]] for (uint i = 0; i < PAIR_VEC4; ++i) q[i] = w_load16(min(base + i, uint(w128.length()) - 1));
#else
  [[unroll]] for (uint i = 0; i < PAIR_VEC4; ++i) q[i] = w_load16(base + i);
#endif
  [[unroll]] for (uint i = 0; i < PAIR_WORDS; ++i) {
    const uint a = q[i / 4][i % 4], b = q[(i + 1) / 4][(i + 1) % 4];
    const uint c = q[(i + 2) / 4][(i + 2) % 4], d = q[(i + 3) / 4][(i + 3) % 4];
    pw[j * PAIR_WORDS + i] = s == 0 ? a : (s == 1 ? b : (s == 2 ? c : d));
  }
}
// A 32-bit word from two 16-bit words of the packed row.
uint word32(uint i16) { return uint(w_data[i16]) | (uint(w_data[i16 + 1]) << 16); }
// Word i of row j's current pair.
#define PW(j, i) pw[(j) * PAIR_WORDS + (i)]
// 16 bits from the middle of two words: the high half of word i and the low half of word i + 1.
#define MID(j, i) ((PW(j, i) >> 16) | (PW(j, (i) + 1) << 16))
#endif

void tile_rows() {
#if defined(W_Q4_0) || defined(W_Q8_0)
  const uint blocks = p.n_in / QK;
#if defined(W_Q4_0)
  const uint block_words = Q4_0_BLOCK_WORDS;
#else
  const uint block_words = Q8_0_BLOCK_WORDS;
#endif
  if (PAIRS_ALIGNED != 0) {
    for (uint pr = 0; pr < blocks / 2; ++pr) {
      [[unroll]] for (uint j = 0; j < RPI; ++j) load_pair(j, w_base[j] / 2 + pr * PAIR_WORDS);
#if defined(W_Q4_0)
      // Pair = 9 words: [d0 | q0.0] [q0] [q0] [q0] [q0.15 | d1] [q1] x4.
      [[unroll]] for (uint j = 0; j < RPI; ++j) {
        decode(j, unpackHalf2x16(PW(j, 0)).x, uvec4(MID(j, 0), MID(j, 1), MID(j, 2), MID(j, 3)));
      }
      tile_block(pr * 64);
      [[unroll]] for (uint j = 0; j < RPI; ++j) {
        decode(j, unpackHalf2x16(PW(j, 4) >> 16).x, uvec4(PW(j, 5), PW(j, 6), PW(j, 7), PW(j, 8)));
      }
      tile_block(pr * 64 + 32);
#else
      // Pair = 17 words: [d0 | q0 0-1] [q0] x7 [q0 30-31 | d1] [q1] x8.
      [[unroll]] for (uint j = 0; j < RPI; ++j) {
        decode(j, unpackHalf2x16(PW(j, 0)).x, uvec4(MID(j, 0), MID(j, 1), MID(j, 2), MID(j, 3)),
               uvec4(MID(j, 4), MID(j, 5), MID(j, 6), MID(j, 7)));
      }
      tile_block(pr * 64);
      [[unroll]] for (uint j = 0; j < RPI; ++j) {
        decode(j, unpackHalf2x16(PW(j, 8) >> 16).x, uvec4(PW(j, 9), PW(j, 10), PW(j, 11), PW(j, 12)),
               uvec4(PW(j, 13), PW(j, 14), PW(j, 15), PW(j, 16)));
      }
      tile_block(pr * 64 + 32);
#endif
    }
  } else {
    for (uint blk = 0; blk < blocks; ++blk) {
      [[unroll]] for (uint j = 0; j < RPI; ++j) {
        const uint b = w_base[j] + blk * block_words;
#if defined(W_Q4_0)
        decode(j, unpackHalf2x16(uint(w_data[b])).x,
               uvec4(word32(b + 1), word32(b + 3), word32(b + 5), word32(b + 7)));
#else
        decode(j, unpackHalf2x16(uint(w_data[b])).x,
               uvec4(word32(b + 1), word32(b + 3), word32(b + 5), word32(b + 7)),
               uvec4(word32(b + 9), word32(b + 11), word32(b + 13), word32(b + 15)));
#endif
      }
      tile_block(blk * QK);
    }
  }
#elif defined(W_CHUNKED)
  const uint chunks = p.n_in / QK;
#if defined(W_Q5_0)
  if (PAIRS_ALIGNED != 0) {
    // Pair = 11 words: [d0 | qh0 lo] [qh0 hi | q0 0-1] [q0] x3 [q0 14-15 | d1] [qh1] [q1] x4.
    for (uint pr = 0; pr < chunks / 2; ++pr) {
      [[unroll]] for (uint j = 0; j < RPI; ++j) load_pair(j, w_base[j] / 2 + pr * PAIR_WORDS);
      [[unroll]] for (uint j = 0; j < RPI; ++j) {
        decode(j, unpackHalf2x16(PW(j, 0)).x, MID(j, 0), uvec4(MID(j, 1), MID(j, 2), MID(j, 3), MID(j, 4)));
      }
      tile_block(pr * 64);
      [[unroll]] for (uint j = 0; j < RPI; ++j) {
        decode(j, unpackHalf2x16(PW(j, 5) >> 16).x, PW(j, 6), uvec4(PW(j, 7), PW(j, 8), PW(j, 9), PW(j, 10)));
      }
      tile_block(pr * 64 + 32);
    }
    return;
  }
#elif defined(W_Q4_K)
  if (PAIRS_ALIGNED == 2) {
    // Super-blocks as 16-byte vectors (rows and the binding at 16-byte boundaries): each row's
    // header [d dmin scales] once a block, then per chunk pair the 32 quant bytes (low nibbles
    // chunk 2g, high nibbles 2g + 1) as two vectors, decoded once for the tile's tokens: 9 loads
    // per row and 256 weights against about 100 chunk by chunk. The weights come out as QB_CHUNK
    // decodes them (wd = 1).
    [[unroll]] for (uint j = 0; j < RPI; ++j) wd[j] = 1.0;
    for (uint blk = 0; blk < chunks / 8; ++blk) {
      vec4 a_lo[MAX_RPI], a_hi[MAX_RPI], o_lo[MAX_RPI], o_hi[MAX_RPI];
      [[unroll]] for (uint j = 0; j < RPI; ++j) {
        q4_k_header(w_load16(w_base[j] / 8 + blk * 9), a_lo[j], a_hi[j], o_lo[j], o_hi[j]);
      }
      for (uint g = 0; g < 4; ++g) {
        uvec4 qa[MAX_RPI], qb[MAX_RPI];
        [[unroll]] for (uint j = 0; j < RPI; ++j) {
          qa[j] = w_load16(w_base[j] / 8 + blk * 9 + 1 + 2 * g);
          qb[j] = w_load16(w_base[j] / 8 + blk * 9 + 2 + 2 * g);
        }
        [[unroll]] for (uint nib = 0; nib < 2; ++nib) {
          const uint c = 2 * g + nib;
          [[unroll]] for (uint j = 0; j < RPI; ++j) {
            const float a = c < 4 ? a_lo[j][c & 3u] : a_hi[j][c & 3u];
            const float o = c < 4 ? o_lo[j][c & 3u] : o_hi[j][c & 3u];
            [[unroll]] for (uint i = 0; i < 4; ++i) {
              wv[j * 8 + i] = fma(vec4(a), byte_bits4(qa[j][i], 4 * nib, 0xfu), vec4(o));
              wv[j * 8 + 4 + i] = fma(vec4(a), byte_bits4(qb[j][i], 4 * nib, 0xfu), vec4(o));
            }
          }
          tile_block(blk * 256 + c * QK);
        }
      }
    }
    return;
  }
#elif defined(W_Q6_K)
  {
    // Super-blocks read as windows of 16-byte vectors at any 2-byte alignment (the host rounds a
    // quantized binding up to 16 bytes, which covers the last one's tail), as the one-token row
    // kernel reads them (matmul/rows_share.glsl): per half of a block, each row's 64 ql bytes (5
    // vectors) and 32 qh bytes (3), per block its 16 scales and d (2); each decoded chunk serves
    // the tile's tokens. The weights come out as QB_CHUNK decodes them (wd = 1).
    [[unroll]] for (uint j = 0; j < RPI; ++j) wd[j] = 1.0;
    for (uint blk = 0; blk < chunks / 8; ++blk) {
      uvec4 tail[MAX_RPI * 2];
      float d[MAX_RPI];
      [[unroll]] for (uint j = 0; j < RPI; ++j) {
        const uint b = w_base[j] + blk * Q6_K_BLOCK_WORDS;  // the block's first 16-bit word
        const uint v = b / 8, hs = b % 8;
        tail[2 * j] = w_load16(v + 12);
        tail[2 * j + 1] = w_load16(v + 13);
        // d: 16-bit word 104 of the block, word hs + 8 of the tail window.
        const uvec4 t1 = tail[2 * j + 1];
        d[j] = unpackHalf2x16(pick4(hs >> 1, t1.x, t1.y, t1.z, t1.w) >> (16 * (hs & 1u))).x;
      }
      for (uint h = 0; h < 2; ++h) {
        uint lw[MAX_RPI * 16], hw[MAX_RPI * 8];
        [[unroll]] for (uint j = 0; j < RPI; ++j) {
          const uint b = w_base[j] + blk * Q6_K_BLOCK_WORDS;
          const uint v = b / 8, hs = b % 8;
          uvec4 ql[5], qh[3];
          [[unroll]] for (uint i = 0; i < 5; ++i) ql[i] = w_load16(v + 4 * h + i);
          [[unroll]] for (uint i = 0; i < 3; ++i) qh[i] = w_load16(v + 8 + 2 * h + i);
          [[unroll]] for (uint i = 0; i < 16; ++i) lw[j * 16 + i] = WINDOW_WORD(ql, i, hs);
          [[unroll]] for (uint i = 0; i < 8; ++i) hw[j * 8 + i] = WINDOW_WORD(qh, i, hs);
        }
        [[unroll]] for (uint s = 0; s < 4; ++s) {
          [[unroll]] for (uint j = 0; j < RPI; ++j) {
            const uint hs = (w_base[j] + blk * Q6_K_BLOCK_WORDS) % 8;
            const uvec4 t[2] = uvec4[2](tail[2 * j], tail[2 * j + 1]);
            // Scales 8h + 2s and 8h + 2s + 1: 16-bit word 4h + s of the scales.
            const int sw = int(WINDOW_WORD(t, 2 * h + (s >> 1), hs) >> (16 * (s & 1u)));
            const float a0 = d[j] * float(bitfieldExtract(sw, 0, 8)), a1 = d[j] * float(bitfieldExtract(sw, 8, 8));
            [[unroll]] for (uint i = 0; i < 8; ++i) {
              const uvec4 lo = (uvec4(lw[j * 16 + 8 * (s & 1u) + i]) >> (uvec4(0, 8, 16, 24) + 4 * (s >> 1))) & 0xfu;
              const uvec4 hi = (uvec4(hw[j * 8 + i]) >> (uvec4(0, 8, 16, 24) + 2 * s)) & 3u;
              wv[j * 8 + i] = fma(vec4(i < 4 ? a0 : a1), vec4(ivec4(lo | (hi << 4)) - 32), vec4(0.0));
            }
          }
          tile_block(blk * 256 + (4 * h + s) * QK);
        }
      }
    }
    return;
  }
#endif
  // Chunk by chunk: 32 weights of each row decoded with their block's scales (wd = 1); 32-bit
  // loads where the type and the rows allow (W_EVEN_U32 and PAIRS_ALIGNED), else 16-bit ones.
  [[unroll]] for (uint j = 0; j < RPI; ++j) wd[j] = 1.0;
  for (uint ch = 0; ch < chunks; ++ch) {
    [[unroll]] for (uint j = 0; j < RPI; ++j) {
      vec4 w[8];
      w_chunk(wc_block_word(w_base[j], ch), wc_chunk_in_block(ch), w);
      [[unroll]] for (uint i = 0; i < 8; ++i) wv[j * 8 + i] = w[i];
    }
    tile_block(ch * QK);
  }
#else
  // Float weights: 32 at a time through the same tile, then the n_in % 32 tail one by one.
  [[unroll]] for (uint j = 0; j < RPI; ++j) wd[j] = 1.0;
  uint k = 0;
  for (; k + 32 <= p.n_in; k += 32) {
    [[unroll]] for (uint j = 0; j < RPI; ++j) {
      const uint a = w_base[j] + k;
      [[unroll]] for (uint i = 0; i < 8; ++i) {
#if defined(W_F32)
        wv[j * 8 + i] = PAIRS_ALIGNED != 0 ? w_vec4[a / 4 + i]
                                           : vec4(w_data[a + 4 * i], w_data[a + 4 * i + 1], w_data[a + 4 * i + 2],
                                                  w_data[a + 4 * i + 3]);
#elif defined(W_BF16)
        if (PAIRS_ALIGNED != 0) {
          const uvec2 h = w64[a / 4 + i];
          wv[j * 8 + i] = vec4(bf16_pair(h.x), bf16_pair(h.y));
        } else {
          wv[j * 8 + i] = vec4(W_ELEM(a + 4 * i), W_ELEM(a + 4 * i + 1), W_ELEM(a + 4 * i + 2), W_ELEM(a + 4 * i + 3));
        }
#else
        if (PAIRS_ALIGNED != 0) {
          const uvec2 h = w64[a / 4 + i];
          wv[j * 8 + i] = vec4(unpackHalf2x16(h.x), unpackHalf2x16(h.y));
        } else {
          wv[j * 8 + i] = vec4(float(w_data[a + 4 * i]), float(w_data[a + 4 * i + 1]), float(w_data[a + 4 * i + 2]),
                               float(w_data[a + 4 * i + 3]));
        }
#endif
      }
    }
    tile_block(k);
  }
  for (; k < p.n_in; ++k) {
    [[unroll]] for (uint j = 0; j < RPI; ++j) {
      const float w = W_ELEM(w_base[j] + k);
      [[unroll]] for (uint t = 0; t < TOKENS; ++t) {
        acc[j * TOKENS + t] = fma(w, float(x[x_base[t] + k]), acc[j * TOKENS + t]);
      }
    }
  }
#endif
}

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

void main() {
  // A workgroup owns gl_WorkGroupSize.x * RPI rows of TOKENS tokens; invocation i holds rows
  // r0 + i + j * gl_WorkGroupSize.x (j < RPI), so one store instruction writes consecutive rows.
  const uint wg_rows = gl_WorkGroupSize.x * RPI;
  const uint row_tiles = (p.n_out + wg_rows - 1) / wg_rows;
  const uint token_tiles = (p.m + TOKENS - 1) / TOKENS;
  const uint g = group_index();
  if (g >= row_tiles * token_tiles) return;  // uniform for the workgroup
  const uint t0 = (g / row_tiles) * TOKENS;
  const uint r0 = (g % row_tiles) * wg_rows + gl_LocalInvocationID.x;
  [[unroll]] for (uint t = 0; t < TOKENS; ++t) x_base[t] = p.x_off + min(t0 + t, p.m - 1) * p.n_in;
  const uint units = row_units();
  [[unroll]] for (uint j = 0; j < RPI; ++j) {
    w_base[j] = p.w_off0 + min(r0 + j * gl_WorkGroupSize.x, p.n_out - 1) * units;
  }
  [[unroll]] for (uint i = 0; i < RPI * TOKENS; ++i) acc[i] = 0.0;

  tile_rows();

  [[unroll]] for (uint t = 0; t < TOKENS; ++t) {
    [[unroll]] for (uint j = 0; j < RPI; ++j) {
      const uint row = r0 + j * gl_WorkGroupSize.x;
      if (t0 + t < p.m && row < p.n_out) o[p.o_off + (t0 + t) * p.n_out + row] = acc[j * TOKENS + t];
    }
  }
}
