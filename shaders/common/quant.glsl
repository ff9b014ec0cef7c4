// Decoding of GGUF's Q8_0 and Q4_0 blocks read as uint16_t words (see types.glsl for why); the
// other quantized types decode through common/quant_blocks.glsl with the helpers below.
//
// Q8_0: 34 bytes = 17 words: word 0 is the f16 scale d, words 1..16 hold qs[0..31] two bytes a
//       word, little-endian (qs[2j] in the low byte). Value i = d * qs[i], qs signed.
// Q4_0: 18 bytes = 9 words: word 0 is d, words 1..8 hold qs[0..15]. Byte j holds weight j in its
//       low nibble and weight j + 16 in its high nibble. Value = d * (nibble - 8).
//
// The macros take the uint16_t array and the index of the block's first word, so they work on
// any buffer a kernel declares.
// Block sizes come from the weight-type table (engine/core/weight_types.def, generated as
// weight_types.glsl): Q8_0_BLOCK_WORDS, Q4_0_BLOCK_WORDS, <TYPE>_BLOCK_ELEMENTS, ...
#include "weight_types.glsl"
// The kernels' step along k: 32 weights, one block of q8_0 / q4_0 (their "pairs" loads) and one
// chunk of every other quantized type (below).
#define QK Q4_0_BLOCK_ELEMENTS

// The other quantized types (W_CHUNKED): their kernels step by 32-element chunks of a block
// (a 256-element K-quant super-block is eight chunks) through the decoders of
// common/quant_blocks.glsl. WC_BLOCK_ELEMENTS / WC_BLOCK_WORDS: the variant's block, from the
// weight-type table; WC_CHUNKS: its chunks.
#if defined(W_Q4_1)
#define WC_BLOCK_ELEMENTS Q4_1_BLOCK_ELEMENTS
#define WC_BLOCK_WORDS Q4_1_BLOCK_WORDS
#elif defined(W_Q5_0)
#define WC_BLOCK_ELEMENTS Q5_0_BLOCK_ELEMENTS
#define WC_BLOCK_WORDS Q5_0_BLOCK_WORDS
#elif defined(W_Q5_1)
#define WC_BLOCK_ELEMENTS Q5_1_BLOCK_ELEMENTS
#define WC_BLOCK_WORDS Q5_1_BLOCK_WORDS
#elif defined(W_IQ4_NL)
#define WC_BLOCK_ELEMENTS IQ4_NL_BLOCK_ELEMENTS
#define WC_BLOCK_WORDS IQ4_NL_BLOCK_WORDS
#elif defined(W_Q2_K)
#define WC_BLOCK_ELEMENTS Q2_K_BLOCK_ELEMENTS
#define WC_BLOCK_WORDS Q2_K_BLOCK_WORDS
#elif defined(W_Q3_K)
#define WC_BLOCK_ELEMENTS Q3_K_BLOCK_ELEMENTS
#define WC_BLOCK_WORDS Q3_K_BLOCK_WORDS
#elif defined(W_Q4_K)
#define WC_BLOCK_ELEMENTS Q4_K_BLOCK_ELEMENTS
#define WC_BLOCK_WORDS Q4_K_BLOCK_WORDS
#elif defined(W_Q5_K)
#define WC_BLOCK_ELEMENTS Q5_K_BLOCK_ELEMENTS
#define WC_BLOCK_WORDS Q5_K_BLOCK_WORDS
#elif defined(W_Q6_K)
#define WC_BLOCK_ELEMENTS Q6_K_BLOCK_ELEMENTS
#define WC_BLOCK_WORDS Q6_K_BLOCK_WORDS
#elif defined(W_IQ4_XS)
#define WC_BLOCK_ELEMENTS IQ4_XS_BLOCK_ELEMENTS
#define WC_BLOCK_WORDS IQ4_XS_BLOCK_WORDS
#endif
// W_EVEN_U32: the type's blocks are whole 32-bit words and every 32-bit read of its decoder
// (quant_blocks.glsl) starts at an even word of the block, so a row starting at an even word can
// be read through a 32-bit view.
#if defined(W_Q4_1) || defined(W_Q5_1) || defined(W_Q2_K) || defined(W_Q4_K) || defined(W_Q5_K) || defined(W_IQ4_XS)
#define W_EVEN_U32 1
#endif
#if defined(WC_BLOCK_WORDS)
#define W_CHUNKED 1
#define WC_CHUNKS (WC_BLOCK_ELEMENTS / QK)
// The first word of the block holding chunk `ch` (counted along the row) of the row at `wb`,
// and the chunk's index inside its block.
#define wc_block_word(wb, ch) ((wb) + ((ch) / WC_CHUNKS) * WC_BLOCK_WORDS)
#define wc_chunk_in_block(ch) ((ch) % WC_CHUNKS)
#endif

// BF16 (a plain type read as uint16_t words): the upper half of an f32.
#define bf16_value(w) uintBitsToFloat(uint(w) << 16)
// The two bf16 values of a 32-bit word (the lower half first).
vec2 bf16_pair(uint w) { return vec2(uintBitsToFloat(w << 16), uintBitsToFloat(w & 0xffff0000u)); }

// The bytes of a little-endian 32-bit word as four lanes, shifted right by `shift` (0..7) and
// masked: the quants of four consecutive weights. Through signed integers: an unsigned
// int-to-float has no single x86 instruction before AVX-512 (CPU drivers).
vec4 byte_bits4(uint v, uint shift, uint mask) {
  return vec4(ivec4((uvec4(v) >> (uvec4(0, 8, 16, 24) + shift)) & mask));
}
// Q5_0 blocks read whole (the row kernels' block pairs): the quants of word i (bytes 4i..4i+3 of
// the block) with their fifth bits from the block's qh, 0..31. Low nibbles are weights 4i..4i+3
// (qh bits 4i..4i+3), high nibbles weights 16+4i..16+4i+3 (qh bits 16+4i..). A weight is
// d * (q - 16), as quant_blocks.glsl's QB_SCALES / QB_QUANTS give it.
//
// The four fifth bits of a word come from one nibble of qh: multiplying the nibble by 0x00204081
// places copies of it 7 bits apart (at bits 0, 7, 14 and 21, never overlapping, so without
// carries), which puts its bit j at bit 8j; the mask keeps those four and the shift makes them
// bit 4 of each byte. The word's four 5-bit quants are then formed in one 32-bit word: about 17
// operations for four weights against 27 bit by bit, on a CPU driver where the decode is most of
// a Q5_0 product's arithmetic.
uint q5_0_top4(uint qh, uint first_bit) { return ((((qh >> first_bit) & 0xfu) * 0x00204081u) & 0x01010101u) << 4; }
vec4 q5_0_lo4(uint v, uint qh, uint i) {
  const uint q = (v & 0x0f0f0f0fu) | q5_0_top4(qh, 4 * i);
  return vec4(ivec4((uvec4(q) >> uvec4(0, 8, 16, 24)) & 0xffu));
}
vec4 q5_0_hi4(uint v, uint qh, uint i) {
  const uint q = ((v >> 4) & 0x0f0f0f0fu) | q5_0_top4(qh, 16 + 4 * i);
  return vec4(ivec4((uvec4(q) >> uvec4(0, 8, 16, 24)) & 0xffu));
}

// A Q4_K super-block's header read as one 16-byte vector (d, dmin, then 12 bytes of 6-bit scales
// and mins, engine/core/blocks.h): weight = a_c * q + o_c in chunk c, a_c = d * scale_c and
// o_c = -(dmin * min_c) as quant_blocks.glsl's QB_SCALES computes them; chunks 0-3 in a_lo / o_lo,
// 4-7 in a_hi / o_hi. Scales and mins 0-3 are the low 6 bits of bytes 0-3 and 4-7; 4-7 take
// their low 4 bits from the nibbles of bytes 8-11 and their top 2 from the top bits of bytes 0-7.
void q4_k_header(uvec4 h, out vec4 a_lo, out vec4 a_hi, out vec4 o_lo, out vec4 o_hi) {
  const vec2 dm = unpackHalf2x16(h.x);
  const uvec4 sh = uvec4(0, 8, 16, 24);
  const uvec4 s03 = uvec4(h.y) >> sh, m03 = uvec4(h.z) >> sh, lo47 = uvec4(h.w) >> sh;
  a_lo = dm.x * vec4(ivec4(s03 & 63u));
  o_lo = -(dm.y * vec4(ivec4(m03 & 63u)));
  a_hi = dm.x * vec4(ivec4((lo47 & 0xfu) | (((s03 >> 6) & 3u) << 4)));
  o_hi = -(dm.y * vec4(ivec4(((lo47 >> 4) & 0xfu) | (((m03 >> 6) & 3u) << 4))));
}

// Unaligned windows (Q6_K's 210-byte blocks start at any 2-byte boundary): bytes read as whole
// 16-byte vectors q[] from the 16-byte boundary below their start, which lies hs 16-bit words
// (0..7) into the first vector. WINDOW_WORD(q, i, hs) is their 32-bit word i: the shift selects
// the words (pick4 of four candidates, the indices constant once unrolled) and an odd hs joins two
// halves. It reads q's words up to i + 4: the window must be that long.
uint pick4(uint s, uint a, uint b, uint c, uint d) { return s == 0u ? a : (s == 1u ? b : (s == 2u ? c : d)); }
#define WINDOW_Q(q, k) q[(k) >> 2][(k) & 3u]
#define WINDOW_PICK(q, k, s) pick4(s, WINDOW_Q(q, k), WINDOW_Q(q, (k) + 1u), WINDOW_Q(q, (k) + 2u), WINDOW_Q(q, (k) + 3u))
#define WINDOW_WORD(q, i, hs)                                                                   \
  (((hs) & 1u) == 0u ? WINDOW_PICK(q, i, (hs) >> 1)                                             \
                     : ((WINDOW_PICK(q, i, (hs) >> 1) >> 16) | (WINDOW_PICK(q, (i) + 1u, (hs) >> 1) << 16)))

// Bits first..first+3 of a 32-bit mask whose bit j belongs to weight j (Q5_0/Q5_1's qh), 0 or 1.
uvec4 mask_bits4(uint v, uint first) { return (uvec4(v) >> (uvec4(0, 1, 2, 3) + first)) & 1u; }
// Bit `bit` of each of the four bytes of a 32-bit word (Q3_K's hmask, Q5_K's qh), 0 or 1.
uvec4 byte_bit4(uint v, uint bit) { return (uvec4(v) >> (uvec4(0, 8, 16, 24) + bit)) & 1u; }

// The 16 non-linear levels of IQ4_NL and IQ4_XS (GGUF's kvalues_iq4nl).
const float IQ4_LEVELS[16] = float[16](-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0, 1.0, 13.0, 25.0,
                                       38.0, 53.0, 69.0, 89.0, 113.0);
vec4 iq4_levels4(uint v, uint shift) {
  const uvec4 q = (uvec4(v) >> (uvec4(0, 8, 16, 24) + shift)) & 0xfu;
  return vec4(IQ4_LEVELS[q.x], IQ4_LEVELS[q.y], IQ4_LEVELS[q.z], IQ4_LEVELS[q.w]);
}

#define block_scale(arr, word) unpackHalf2x16(uint(arr[word])).x

// The two signed bytes of word j of a Q8_0 block's quants, as floats: qs[2j], qs[2j + 1].
vec2 q8_0_pair(uint w) {
  const int v = int(w);
  return vec2(float(bitfieldExtract(v, 0, 8)), float(bitfieldExtract(v, 8, 8)));
}

// The four weights held by word j of a Q4_0 block (bytes 2j and 2j + 1), minus 8:
// x = weight 2j, y = weight 2j + 1, z = weight 2j + 16, w = weight 2j + 17.
vec4 q4_0_quad(uint w) {
  return vec4(float(w & 0xfu), float((w >> 8) & 0xfu), float((w >> 4) & 0xfu),
              float((w >> 12) & 0xfu)) - 8.0;
}

// One weight i (0..31) of the block whose first word is `word`.
#define q8_0_value(arr, word, i) \
  (block_scale(arr, word) * float(bitfieldExtract(int(uint(arr[(word) + 1u + ((i) >> 1)])), int(((i) & 1u) * 8u), 8)))
#define q4_0_value(arr, word, i)                                                                 \
  (block_scale(arr, word) *                                                                      \
   (float((uint(arr[(word) + 1u + (((i) & 15u) >> 1)]) >> ((((i) & 1u) * 8u) + (((i) >> 4) * 4u))) & 0xfu) - 8.0))
