// The weight side of matvec_rows.comp: one weight binding and the function that sums one
// invocation's share of a row of it. Included once per weight the kernel reads (a fused kernel
// reads two or three matrices in separate bindings), with RS_INDEX set to 0, 1 or 2: binding
// RS_INDEX and row_share_<RS_INDEX>. A GLSL function cannot take a buffer, and a workgroup picks
// its matrix from its group index, so each binding gets its own copy behind a uniform branch.
// Needs from the includer: p.n_in, acc[], x_base[], TOKENS, LANES, PAIRS_ALIGNED, x4(), and for
// Q4_0/Q8_0 weights block_dot(), pw[] and PAIR_WORDS / PAIR_VEC4, for W_CHUNKED ones chunk_dot().

#if RS_INDEX == 0
#define RS_W w0_data
#define RS_W32 w0_32
#define RS_W128 w0_128
#define RS_BUF WeightBuf0
#define RS_BUF32 WeightBuf0_32
#define RS_BUF128 WeightBuf0_128
#define RS_LOAD16 load16_0
#define RS_ROW_SHARE row_share_0
#define RS_LOAD_PAIR load_pair_0
#define RS_WORD32 word32_0
#define RS_SCALES rs_scales_0
#define RS_QUANTS rs_quants_0
#define RS_CHUNK rs_chunk_0
#define RS_VALUE rs_value_0
#elif RS_INDEX == 1
#define RS_W w1_data
#define RS_W32 w1_32
#define RS_W128 w1_128
#define RS_BUF WeightBuf1
#define RS_BUF32 WeightBuf1_32
#define RS_BUF128 WeightBuf1_128
#define RS_LOAD16 load16_1
#define RS_ROW_SHARE row_share_1
#define RS_LOAD_PAIR load_pair_1
#define RS_WORD32 word32_1
#define RS_SCALES rs_scales_1
#define RS_QUANTS rs_quants_1
#define RS_CHUNK rs_chunk_1
#define RS_VALUE rs_value_1
#elif RS_INDEX == 2
#define RS_W w2_data
#define RS_W32 w2_32
#define RS_W128 w2_128
#define RS_BUF WeightBuf2
#define RS_BUF32 WeightBuf2_32
#define RS_BUF128 WeightBuf2_128
#define RS_LOAD16 load16_2
#define RS_ROW_SHARE row_share_2
#define RS_LOAD_PAIR load_pair_2
#define RS_WORD32 word32_2
#define RS_SCALES rs_scales_2
#define RS_QUANTS rs_quants_2
#define RS_CHUNK rs_chunk_2
#define RS_VALUE rs_value_2
#else
#error "RS_INDEX must be 0, 1 or 2"
#endif

#if defined(W_F32)
layout(set = 0, binding = RS_INDEX) readonly buffer RS_BUF { float RS_W[]; };
#elif defined(W_F16)
layout(set = 0, binding = RS_INDEX) readonly buffer RS_BUF { float16_t RS_W[]; };
layout(set = 0, binding = RS_INDEX) readonly buffer RS_BUF32 { uint RS_W32[]; };
#elif defined(W_Q8_0) || defined(W_Q4_0)
// Three views of one binding: 16-bit words (any block), 32-bit words and 16 bytes as two 64-bit
// words (aligned block pairs, RS_LOAD16).
layout(set = 0, binding = RS_INDEX) readonly buffer RS_BUF { uint16_t RS_W[]; };
layout(set = 0, binding = RS_INDEX) readonly buffer RS_BUF32 { uint RS_W32[]; };
layout(set = 0, binding = RS_INDEX) readonly buffer RS_BUF128 { u64vec2 RS_W128[]; };
#elif defined(W_BF16)
layout(set = 0, binding = RS_INDEX) readonly buffer RS_BUF { uint16_t RS_W[]; };
layout(set = 0, binding = RS_INDEX) readonly buffer RS_BUF32 { uint RS_W32[]; };
#elif defined(W_CHUNKED)
layout(set = 0, binding = RS_INDEX) readonly buffer RS_BUF { uint16_t RS_W[]; };
layout(set = 0, binding = RS_INDEX) readonly buffer RS_BUF32 { uint RS_W32[]; };
#if defined(W_Q5_0) || defined(W_Q4_K) || defined(W_Q6_K)
// Q5_0 block pairs, whole Q4_K super-blocks, windows of Q6_K super-blocks (RS_LOAD16).
layout(set = 0, binding = RS_INDEX) readonly buffer RS_BUF128 { u64vec2 RS_W128[]; };
#endif
#define QB_W RS_W
#define QB_W32 RS_W32
#define QB_ALIGNED (PAIRS_ALIGNED != 0)
#define QB_SCALES RS_SCALES
#define QB_QUANTS RS_QUANTS
#define QB_CHUNK RS_CHUNK
#define QB_VALUE RS_VALUE
#include "common/quant_blocks.glsl"
#undef QB_W
#undef QB_W32
#undef QB_ALIGNED
#undef QB_SCALES
#undef QB_QUANTS
#undef QB_CHUNK
#undef QB_VALUE
#else
#error "define W_<TYPE> for a type with Vulkan kernels in engine/core/weight_types.def"
#endif

#if defined(W_Q4_0) || defined(W_Q8_0) || defined(W_Q5_0) || defined(W_Q4_K) || defined(W_Q6_K)
// The 16 bytes at 16-byte index i as four words, read as two 64-bit words (matmul/x_words.glsl
// says why).
uvec4 RS_LOAD16(uint i) {
  const u64vec2 v = RS_W128[i];
  return uvec4(unpackUint2x32(v.x), unpackUint2x32(v.y));
}
#endif

#if defined(W_Q4_0) || defined(W_Q8_0) || defined(W_Q5_0)
// The 32-bit words of one block pair into pw[], read as whole 16-byte vectors: a CPU driver pays
// per load instruction (a per-invocation loop), not per byte, so 3 (Q4_0), 4 (Q5_0) or 5 (Q8_0)
// vector loads replace 9, 11 or 17 word loads. The pair starts at any 4-byte boundary; the vectors
// cover it from the 16-byte boundary below (Q4_0, Q8_0: up to 12 bytes past the pair: the host
// rounds the binding up to 16 bytes, inside the allocation's own alignment) and the words are
// selected by the shift. Q5_0's 44-byte pair needs its fourth vector only when it starts past the
// second word of one; that vector's index is clamped to the binding, whose last pair may end
// before it.
void RS_LOAD_PAIR(uint word) {
  const uint base = word / 4, s = word % 4;
  uvec4 q[PAIR_VEC4];
#if defined(W_Q5_0)
  [[unroll]] for (uint i = 0; i < PAIR_VEC4; ++i) q[i] = RS_LOAD16(min(base + i, uint(RS_W128.length()) - 1));
#else
  [[unroll]] for (uint i = 0; i < PAIR_VEC4; ++i) q[i] = RS_LOAD16(base + i);
#endif
  [[unroll]] for (uint i = 0; i < PAIR_WORDS; ++i) {
    const uint a = q[i / 4][i % 4], b = q[(i + 1) / 4][(i + 1) % 4];
    const uint c = q[(i + 2) / 4][(i + 2) % 4], d = q[(i + 3) / 4][(i + 3) % 4];
    pw[i] = s == 0 ? a : (s == 1 ? b : (s == 2 ? c : d));
  }
}

// A 32-bit word from two 16-bit words of the packed row.
uint RS_WORD32(uint i16) { return uint(RS_W[i16]) | (uint(RS_W[i16 + 1]) << 16); }
#endif

// This invocation's share of the row whose first weight unit is `wb` into acc[].
void RS_ROW_SHARE(uint wb, uint lane) {
#if defined(W_Q4_0)
  const uint blocks = p.n_in / QK;
  if (PAIRS_ALIGNED != 0) {
    // Pair of blocks = 36 bytes = 9 words: [d0 | q0.0] [q0] [q0] [q0] [q0.15 | d1] [q1] x4.
    const uint base = wb / 2;
    for (uint pr = lane; pr < blocks / 2; pr += LANES) {
      RS_LOAD_PAIR(base + pr * 9);
      const uvec4 q0 = uvec4((pw[0] >> 16) | (pw[1] << 16), (pw[1] >> 16) | (pw[2] << 16),
                             (pw[2] >> 16) | (pw[3] << 16), (pw[3] >> 16) | (pw[4] << 16));
      block_dot(unpackHalf2x16(pw[0]).x, q0, pr * 64);
      block_dot(unpackHalf2x16(pw[4] >> 16).x, uvec4(pw[5], pw[6], pw[7], pw[8]), pr * 64 + 32);
    }
  } else {
    for (uint blk = lane; blk < blocks; blk += LANES) {
      const uint b = wb + blk * Q4_0_BLOCK_WORDS;
      block_dot(unpackHalf2x16(uint(RS_W[b])).x,
                uvec4(RS_WORD32(b + 1), RS_WORD32(b + 3), RS_WORD32(b + 5), RS_WORD32(b + 7)), blk * QK);
    }
  }
#elif defined(W_Q8_0)
  const uint blocks = p.n_in / QK;
  if (PAIRS_ALIGNED != 0) {
    // Pair of blocks = 68 bytes = 17 words: [d0 | q0 0-1] [q0] x7 [q0 30-31 | d1] [q1] x8.
    const uint base = wb / 2;
    for (uint pr = lane; pr < blocks / 2; pr += LANES) {
      RS_LOAD_PAIR(base + pr * 17);
      const uvec4 qa = uvec4((pw[0] >> 16) | (pw[1] << 16), (pw[1] >> 16) | (pw[2] << 16),
                             (pw[2] >> 16) | (pw[3] << 16), (pw[3] >> 16) | (pw[4] << 16));
      const uvec4 qb = uvec4((pw[4] >> 16) | (pw[5] << 16), (pw[5] >> 16) | (pw[6] << 16),
                             (pw[6] >> 16) | (pw[7] << 16), (pw[7] >> 16) | (pw[8] << 16));
      block_dot(unpackHalf2x16(pw[0]).x, qa, qb, pr * 64);
      block_dot(unpackHalf2x16(pw[8] >> 16).x, uvec4(pw[9], pw[10], pw[11], pw[12]),
                uvec4(pw[13], pw[14], pw[15], pw[16]), pr * 64 + 32);
    }
  } else {
    for (uint blk = lane; blk < blocks; blk += LANES) {
      const uint b = wb + blk * Q8_0_BLOCK_WORDS;
      block_dot(unpackHalf2x16(uint(RS_W[b])).x,
                uvec4(RS_WORD32(b + 1), RS_WORD32(b + 3), RS_WORD32(b + 5), RS_WORD32(b + 7)),
                uvec4(RS_WORD32(b + 9), RS_WORD32(b + 11), RS_WORD32(b + 13), RS_WORD32(b + 15)), blk * QK);
    }
  }
#elif defined(W_CHUNKED)
  const uint chunks = p.n_in / QK;
  // Whole blocks as vectors for one token (decode): Q5_0 pairs, Q4_K and Q6_K super-blocks
  // (docs/weight-types.md). With TOKENS > 1 (decode rows' tiles) they measured slower than chunk
  // by chunk on lavapipe (the per-block code grows with the tile and outgrows the registers),
  // so tiles keep the chunk path.
#if defined(W_Q5_0)
  if (TOKENS == 1 && PAIRS_ALIGNED != 0) {
    // Pair of blocks = 44 bytes = 11 words: [d0 | qh0 lo] [qh0 hi | q0 0-1] [q0] x3 [q0 14-15 | d1]
    // [qh1] [q1] x4 (PAIRS_ALIGNED: rows of whole pairs starting at 32-bit words).
    const uint base = wb / 2;
    for (uint pr = lane; pr < chunks / 2; pr += LANES) {
      RS_LOAD_PAIR(base + pr * 11);
      const uvec4 q0 = uvec4((pw[1] >> 16) | (pw[2] << 16), (pw[2] >> 16) | (pw[3] << 16),
                             (pw[3] >> 16) | (pw[4] << 16), (pw[4] >> 16) | (pw[5] << 16));
      q5_0_chunk_dot(unpackHalf2x16(pw[0]).x, (pw[0] >> 16) | (pw[1] << 16), q0, pr * 64);
      q5_0_chunk_dot(unpackHalf2x16(pw[5] >> 16).x, pw[6], uvec4(pw[7], pw[8], pw[9], pw[10]), pr * 64 + 32);
    }
    return;
  }
#elif defined(W_Q4_K)
  if (TOKENS == 1 && PAIRS_ALIGNED == 2) {
    // Whole super-blocks as 9 vectors (rows and the binding at 16-byte boundaries): [d dmin
    // scales] then qs 32 bytes per chunk pair, low nibbles chunk 2j, high nibbles 2j + 1. The
    // weights come out as QB_CHUNK decodes them.
    const uint v_row = wb / 8;
    for (uint blk = lane; blk < chunks / 8; blk += LANES) {
      const uint v0 = v_row + blk * 9;
      vec4 a_lo, a_hi, o_lo, o_hi;
      q4_k_header(RS_LOAD16(v0), a_lo, a_hi, o_lo, o_hi);
      // Chunk pairs in a loop, not unrolled (measured faster on lavapipe than the unrolled block).
      for (uint j = 0; j < 4; ++j) {
        const uvec4 qa = RS_LOAD16(v0 + 1 + 2 * j), qb = RS_LOAD16(v0 + 2 + 2 * j);
        [[unroll]] for (uint nib = 0; nib < 2; ++nib) {
          const uint c = 2 * j + nib;
          const float a = c < 4 ? a_lo[c] : a_hi[c - 4], o = c < 4 ? o_lo[c] : o_hi[c - 4];
          vec4 w[8];
          [[unroll]] for (uint i = 0; i < 4; ++i) {
            w[i] = fma(vec4(a), byte_bits4(qa[i], 4 * nib, 0xfu), vec4(o));
            w[4 + i] = fma(vec4(a), byte_bits4(qb[i], 4 * nib, 0xfu), vec4(o));
          }
          chunk_dot(w, blk * 256 + c * QK);
        }
      }
    }
    return;
  }
#elif defined(W_Q6_K)
  if (TOKENS == 1) {
    // Super-blocks read as windows of 16-byte vectors at any 2-byte alignment (the host rounds a
    // quantized binding up to 16 bytes, which covers the last one's tail): per half, its 64 ql
    // bytes (5 vectors) and 32 qh bytes (3); per block its 16 scales and d (2). 18 vector loads
    // for 256 weights, against two 16-bit loads per 4 weights chunk by chunk. The weights come
    // out as QB_CHUNK decodes them.
    for (uint blk = lane; blk < chunks / 8; blk += LANES) {
      const uint b = wb + blk * Q6_K_BLOCK_WORDS;  // the block's first 16-bit word
      const uint v = b / 8, hs = b % 8;
      uvec4 tail[2];
      tail[0] = RS_LOAD16(v + 12);
      tail[1] = RS_LOAD16(v + 13);
      // d: 16-bit word 104 of the block, word hs + 8 of the tail window.
      const float d = unpackHalf2x16(pick4(hs >> 1, tail[1].x, tail[1].y, tail[1].z, tail[1].w) >> (16 * (hs & 1u))).x;
      [[unroll]] for (uint h = 0; h < 2; ++h) {
        uvec4 ql[5], qh[3];
        [[unroll]] for (uint i = 0; i < 5; ++i) ql[i] = RS_LOAD16(v + 4 * h + i);
        [[unroll]] for (uint i = 0; i < 3; ++i) qh[i] = RS_LOAD16(v + 8 + 2 * h + i);
        uint hw[8];
        [[unroll]] for (uint i = 0; i < 8; ++i) hw[i] = WINDOW_WORD(qh, i, hs);
        [[unroll]] for (uint s = 0; s < 4; ++s) {
          // Scales 8h + 2s and 8h + 2s + 1: 16-bit word 4h + s of the scales.
          const int sw = int(WINDOW_WORD(tail, 2 * h + (s >> 1), hs) >> (16 * (s & 1u)));
          const float a0 = d * float(bitfieldExtract(sw, 0, 8)), a1 = d * float(bitfieldExtract(sw, 8, 8));
          vec4 w[8];
          [[unroll]] for (uint i = 0; i < 8; ++i) {
            const uint lw = WINDOW_WORD(ql, 8 * (s & 1u) + i, hs);
            const uvec4 lo = (uvec4(lw) >> (uvec4(0, 8, 16, 24) + 4 * (s >> 1))) & 0xfu;
            const uvec4 hi = (uvec4(hw[i]) >> (uvec4(0, 8, 16, 24) + 2 * s)) & 3u;
            w[i] = fma(vec4(i < 4 ? a0 : a1), vec4(ivec4(lo | (hi << 4)) - 32), vec4(0.0));
          }
          chunk_dot(w, blk * 256 + (4 * h + s) * QK);
        }
      }
    }
    return;
  }
#endif
  // Chunk by chunk (32 weights, a block's scales applied); 32-bit loads where the type and the
  // row allow (W_EVEN_U32 and PAIRS_ALIGNED), else 16-bit ones.
  for (uint ch = lane; ch < chunks; ch += LANES) {
    vec4 w[8];
    RS_CHUNK(wc_block_word(wb, ch), wc_chunk_in_block(ch), w);
    chunk_dot(w, ch * QK);
  }
#elif defined(W_BF16)
  uint k = lane * 4;
  if (PAIRS_ALIGNED != 0) {
    // Four bf16 per step as two 32-bit loads.
    const uint base = wb / 2;
    for (; k + 4 <= p.n_in; k += LANES * 4) {
      const vec4 wv = vec4(bf16_pair(RS_W32[base + k / 2]), bf16_pair(RS_W32[base + k / 2 + 1]));
      [[unroll]] for (uint t = 0; t < TOKENS; ++t) acc[t] += dot(wv, x4(t, k));
    }
  } else {
    for (; k + 4 <= p.n_in; k += LANES * 4) {
      const vec4 wv = vec4(bf16_value(RS_W[wb + k]), bf16_value(RS_W[wb + k + 1]), bf16_value(RS_W[wb + k + 2]),
                           bf16_value(RS_W[wb + k + 3]));
      [[unroll]] for (uint t = 0; t < TOKENS; ++t) acc[t] += dot(wv, x4(t, k));
    }
  }
  for (; k < p.n_in; ++k) {
    const float wv = bf16_value(RS_W[wb + k]);
    [[unroll]] for (uint t = 0; t < TOKENS; ++t) acc[t] += wv * float(x[x_base[t] + k]);
  }
#elif defined(W_F16)
  uint k = lane * 4;
  if (PAIRS_ALIGNED != 0) {
    // Four halves per step as two 32-bit loads.
    const uint base = wb / 2;
    for (; k + 4 <= p.n_in; k += LANES * 4) {
      const vec4 wv = vec4(unpackHalf2x16(RS_W32[base + k / 2]), unpackHalf2x16(RS_W32[base + k / 2 + 1]));
      [[unroll]] for (uint t = 0; t < TOKENS; ++t) acc[t] += dot(wv, x4(t, k));
    }
  } else {
    for (; k + 4 <= p.n_in; k += LANES * 4) {
      const vec4 wv = vec4(float(RS_W[wb + k]), float(RS_W[wb + k + 1]), float(RS_W[wb + k + 2]),
                           float(RS_W[wb + k + 3]));
      [[unroll]] for (uint t = 0; t < TOKENS; ++t) acc[t] += dot(wv, x4(t, k));
    }
  }
  // The last n_in % 4 weights: only the invocation whose next step fell off the end has them.
  for (; k < p.n_in; ++k) {
    const float wv = float(RS_W[wb + k]);
    [[unroll]] for (uint t = 0; t < TOKENS; ++t) acc[t] += wv * float(x[x_base[t] + k]);
  }
#else
  uint k = lane * 4;
  for (; k + 4 <= p.n_in; k += LANES * 4) {
    const vec4 wv = vec4(RS_W[wb + k], RS_W[wb + k + 1], RS_W[wb + k + 2], RS_W[wb + k + 3]);
    [[unroll]] for (uint t = 0; t < TOKENS; ++t) acc[t] += dot(wv, x4(t, k));
  }
  for (; k < p.n_in; ++k) {
    const float wv = RS_W[wb + k];
    [[unroll]] for (uint t = 0; t < TOKENS; ++t) acc[t] += wv * float(x[x_base[t] + k]);
  }
#endif
}

#undef RS_W
#undef RS_W32
#undef RS_W128
#undef RS_BUF
#undef RS_BUF32
#undef RS_BUF128
#undef RS_LOAD16
#undef RS_ROW_SHARE
#undef RS_LOAD_PAIR
#undef RS_WORD32
#undef RS_SCALES
#undef RS_QUANTS
#undef RS_CHUNK
#undef RS_VALUE
