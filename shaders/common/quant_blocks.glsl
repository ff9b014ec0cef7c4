// Block decoders of the W_CHUNKED weight types (common/quant.glsl: Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K,
// Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS), for the one type the variant defines. Every kernel reads these
// types 32 weights (one chunk) at a time; a 32-element type has one chunk a block, a 256-element
// super-block eight.
//
// Each type is two functions of the block's first 16-bit word b and the chunk c:
//   QB_SCALES(b, c)     vec4(a0, m0, a1, m1): weight = a * q + m, with (a0, m0) for the chunk's
//                       first 16 weights and (a1, m1) for the last 16 (the K-quants with 16-element
//                       sub-blocks have two scales a chunk)
//   QB_QUANTS(b, c, i)  q of weights 4i..4i+3 of the chunk (offsets and IQ4 levels applied)
// and, built on them, what the kernels call:
//   QB_CHUNK(b, c, w)   the chunk's 32 weights, w[i] = weights 4i..4i+3
//   QB_VALUE(b, k)      weight k (0 .. block elements - 1) of the block
// The float operations follow GGUF's reference decoders (engine/core/codecs_*.cpp), so a weight is
// that decoder's value up to the rounding of one fma.
//
// A GLSL function cannot take a buffer, so this file is included once per weight buffer a kernel
// reads, with QB_W naming its uint16_t array and QB_SCALES, QB_QUANTS, QB_CHUNK, QB_VALUE naming
// the functions of that copy (and optionally QB_W32 / QB_ALIGNED, see QB_U32). Word layouts: docs/weight-types.md, engine/core/blocks.h.

#if !defined(QB_W) || !defined(QB_SCALES) || !defined(QB_QUANTS) || !defined(QB_CHUNK) || !defined(QB_VALUE)
#error "define QB_W, QB_SCALES, QB_QUANTS, QB_CHUNK and QB_VALUE before including common/quant_blocks.glsl"
#endif

#define QB_U16(i) uint(QB_W[i])
// A 32-bit word from two 16-bit words, or, where the includer gives a 32-bit view of the binding
// (QB_W32) and QB_ALIGNED (a constant: rows start at even words) holds for a W_EVEN_U32 type, one
// load: a CPU driver pays per load instruction, not per byte.
#if defined(QB_W32) && defined(W_EVEN_U32)
#define QB_U32(i) ((QB_ALIGNED) ? QB_W32[(i) >> 1] : (uint(QB_W[i]) | (uint(QB_W[(i) + 1u]) << 16)))
#else
#define QB_U32(i) (uint(QB_W[i]) | (uint(QB_W[(i) + 1u]) << 16))
#endif
#define QB_HALF(i) unpackHalf2x16(uint(QB_W[i])).x
// Byte n of the bytes starting at word w.
#define QB_BYTE(w, n) ((uint(QB_W[(w) + ((n) >> 1)]) >> (((n) & 1u) * 8u)) & 0xffu)

#if defined(W_Q4_1)
// 10 words: d 0, m 1, qs 2-9 (byte j: weight j low nibble, weight j + 16 high nibble).
vec4 QB_SCALES(uint b, uint c) {
  const float d = QB_HALF(b), m = QB_HALF(b + 1u);
  return vec4(d, m, d, m);
}
vec4 QB_QUANTS(uint b, uint c, uint i) { return byte_bits4(QB_U32(b + 2u + 2u * (i & 3u)), (i >> 2) * 4u, 0xfu); }

#elif defined(W_Q5_0) || defined(W_Q5_1)
// Q5_0, 11 words: d 0, qh 1-2, qs 3-10. Q5_1, 12 words: d 0, m 1, qh 2-3, qs 4-11. Bit j of qh is
// bit 4 of weight j; the nibbles as Q4_0's. Q5_0: d * (q - 16); Q5_1: d * q + m.
#if defined(W_Q5_0)
#define QB_QH 1u
#define QB_QS 3u
#else
#define QB_QH 2u
#define QB_QS 4u
#endif
vec4 QB_SCALES(uint b, uint c) {
  const float d = QB_HALF(b);
#if defined(W_Q5_0)
  return vec4(d, -16.0 * d, d, -16.0 * d);
#else
  const float m = QB_HALF(b + 1u);
  return vec4(d, m, d, m);
#endif
}
vec4 QB_QUANTS(uint b, uint c, uint i) {
  const uvec4 lo = (uvec4(QB_U32(b + QB_QS + 2u * (i & 3u))) >> (uvec4(0, 8, 16, 24) + (i >> 2) * 4u)) & 0xfu;
  return vec4(ivec4(lo | (mask_bits4(QB_U32(b + QB_QH), 4u * i) << 4)));
}
#undef QB_QH
#undef QB_QS

#elif defined(W_IQ4_NL)
// 9 words: d 0, qs 1-8 (nibbles as Q4_0's); d * level[q].
vec4 QB_SCALES(uint b, uint c) {
  const float d = QB_HALF(b);
  return vec4(d, 0.0, d, 0.0);
}
vec4 QB_QUANTS(uint b, uint c, uint i) { return iq4_levels4(QB_U32(b + 1u + 2u * (i & 3u)), (i >> 2) * 4u); }

#elif defined(W_Q2_K)
// 42 words: scales 0-7 (16 bytes: low nibble scale, high nibble min), qs 8-39, d 40, dmin 41.
// Chunk c: half h = c / 4 of the block, 2-bit plane j = c % 4; weight l of the chunk is bits 2j of
// qs byte 32h + l, with scale byte 8h + 2j (l < 16) or 8h + 2j + 1, one word.
vec4 QB_SCALES(uint b, uint c) {
  const float d = QB_HALF(b + 40u), dmin = QB_HALF(b + 41u);
  const uint s = QB_U16(b + 4u * (c >> 2) + (c & 3u));
  return vec4(d * float(s & 0xfu), -(dmin * float((s >> 4) & 0xfu)), d * float((s >> 8) & 0xfu),
              -(dmin * float(s >> 12)));
}
vec4 QB_QUANTS(uint b, uint c, uint i) { return byte_bits4(QB_U32(b + 8u + 16u * (c >> 2) + 2u * i), 2u * (c & 3u), 3u); }

#elif defined(W_Q3_K)
// 55 words: hmask 0-15, qs 16-47, scales 48-53 (16 6-bit scales), d 54. Chunk c: half h = c / 4,
// plane j = c % 4: weight l has bits 2j of qs byte 32h + l, minus 4 unless bit 4h + j of hmask
// byte l is set; scales 8h + 2j and 8h + 2j + 1 (each 16 weights), minus 32.
// Scale k: low 4 bits from nibble k / 8 of byte k % 8, high 2 bits from bits 2 (k / 4) of byte
// 8 + k % 4.
#define QB_Q3_K_SCALE(b, k)                                                        \
  float(int(((QB_BYTE((b) + 48u, (k) & 7u) >> (4u * ((k) >> 3))) & 0xfu) |         \
            (((QB_BYTE((b) + 48u, 8u + ((k) & 3u)) >> (2u * ((k) >> 2))) & 3u) << 4)) - 32)
vec4 QB_SCALES(uint b, uint c) {
  const float d = QB_HALF(b + 54u);
  const uint k = 8u * (c >> 2) + 2u * (c & 3u);
  return vec4(d * QB_Q3_K_SCALE(b, k), 0.0, d * QB_Q3_K_SCALE(b, k + 1u), 0.0);
}
#undef QB_Q3_K_SCALE
vec4 QB_QUANTS(uint b, uint c, uint i) {
  const uvec4 q = (uvec4(QB_U32(b + 16u + 16u * (c >> 2) + 2u * i)) >> (uvec4(0, 8, 16, 24) + 2u * (c & 3u))) & 3u;
  const uvec4 h = byte_bit4(QB_U32(b + 2u * i), c);
  return vec4(ivec4(q) - 4 + 4 * ivec4(h));
}

#elif defined(W_Q4_K) || defined(W_Q5_K)
// Q4_K, 72 words: d 0, dmin 1, scales 2-7 (8 6-bit scales and mins), qs 8-71. Q5_K, 88 words: the
// same, then qh 8-23 and qs 24-87. Chunk c: nibble c % 2 of qs bytes 32 (c / 2) + l, with (Q5_K)
// bit c of qh byte l as bit 4; (d * scale_c) * q - dmin * min_c.
vec4 QB_SCALES(uint b, uint c) {
  const float d = QB_HALF(b), dmin = QB_HALF(b + 1u);
  uint sc, m;
  if (c < 4u) {
    sc = QB_BYTE(b + 2u, c) & 63u;
    m = QB_BYTE(b + 2u, c + 4u) & 63u;
  } else {
    const uint hi = QB_BYTE(b + 2u, c + 4u);
    sc = (hi & 0xfu) | ((QB_BYTE(b + 2u, c - 4u) >> 6) << 4);
    m = (hi >> 4) | ((QB_BYTE(b + 2u, c) >> 6) << 4);
  }
  const float a = d * float(sc), o = -(dmin * float(m));
  return vec4(a, o, a, o);
}
#if defined(W_Q4_K)
vec4 QB_QUANTS(uint b, uint c, uint i) { return byte_bits4(QB_U32(b + 8u + 16u * (c >> 1) + 2u * i), 4u * (c & 1u), 0xfu); }
#else
vec4 QB_QUANTS(uint b, uint c, uint i) {
  const uvec4 lo = (uvec4(QB_U32(b + 24u + 16u * (c >> 1) + 2u * i)) >> (uvec4(0, 8, 16, 24) + 4u * (c & 1u))) & 0xfu;
  return vec4(ivec4(lo | (byte_bit4(QB_U32(b + 8u + 2u * i), c) << 4)));
}
#endif

#elif defined(W_Q6_K)
// 105 words: ql 0-63, qh 64-95, scales 96-103 (16 int8), d 104. Chunk c: half h = c / 4, part
// j = c % 4: weight l has nibble j / 2 of ql byte 64h + 32 (j % 2) + l and bits 2j of qh byte
// 32h + l as bits 4-5, minus 32; scales 8h + 2j and 8h + 2j + 1 (each 16 weights), one word.
vec4 QB_SCALES(uint b, uint c) {
  const float d = QB_HALF(b + 104u);
  const int s = int(QB_U16(b + 96u + 4u * (c >> 2) + (c & 3u)));
  return vec4(d * float(bitfieldExtract(s, 0, 8)), 0.0, d * float(bitfieldExtract(s, 8, 8)), 0.0);
}
vec4 QB_QUANTS(uint b, uint c, uint i) {
  const uint h = c >> 2, j = c & 3u;
  const uvec4 lo = (uvec4(QB_U32(b + 32u * h + 16u * (j & 1u) + 2u * i)) >> (uvec4(0, 8, 16, 24) + 4u * (j >> 1))) & 0xfu;
  const uvec4 hi = (uvec4(QB_U32(b + 64u + 16u * h + 2u * i)) >> (uvec4(0, 8, 16, 24) + 2u * j)) & 3u;
  return vec4(ivec4(lo | (hi << 4)) - 32);
}

#elif defined(W_IQ4_XS)
// 68 words: d 0, scales_h 1, scales_l 2-3, qs 4-67. Chunk c is sub-block c: 6-bit scale ls from
// nibble c % 2 of scales_l byte c / 2 and bits 2c of scales_h; qs bytes 16c.. as Q4_0's nibbles;
// (d * (ls - 32)) * level[q].
vec4 QB_SCALES(uint b, uint c) {
  const uint ls = ((QB_BYTE(b + 2u, c >> 1) >> (4u * (c & 1u))) & 0xfu) | (((QB_U16(b + 1u) >> (2u * c)) & 3u) << 4);
  const float a = QB_HALF(b) * float(int(ls) - 32);
  return vec4(a, 0.0, a, 0.0);
}
vec4 QB_QUANTS(uint b, uint c, uint i) { return iq4_levels4(QB_U32(b + 4u + 8u * c + 2u * (i & 3u)), (i >> 2) * 4u); }

#else
#error "common/quant_blocks.glsl: the variant's weight type is not a W_CHUNKED type"
#endif

void QB_CHUNK(uint b, uint c, out vec4 w[8]) {
  const vec4 s = QB_SCALES(b, c);
  for (uint i = 0; i < 4u; ++i) w[i] = fma(vec4(s.x), QB_QUANTS(b, c, i), vec4(s.y));
  for (uint i = 4; i < 8u; ++i) w[i] = fma(vec4(s.z), QB_QUANTS(b, c, i), vec4(s.w));
}

float QB_VALUE(uint b, uint k) {
  const uint c = k / QK, l = k % QK;
  const vec4 s = QB_SCALES(b, c);
  const vec2 am = l < 16u ? s.xy : s.zw;
  return fma(am.x, QB_QUANTS(b, c, l / 4u)[l % 4u], am.y);
}

#undef QB_U16
#undef QB_U32
#undef QB_HALF
#undef QB_BYTE
