// Decoding of GGUF's Q8_0 and Q4_0 blocks read as uint16_t words (see types.glsl for why).
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
// The kernels' step along k: one 32-element block of q8_0 / q4_0 (the tiled kernel's BK, the
// "pairs" loads). Types with other blocks (the K-quants' 256) use W_BLOCK_ELEMENTS instead.
#define QK Q4_0_BLOCK_ELEMENTS

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
