// A weight matrix or table in one of the weight types, chosen by the variant's #define:
// W_<ENUM> of engine/core/weight_types.def (the W_CHUNKED quantized types decode through
// common/quant_blocks.glsl). Declares the buffer
// at binding W_BINDING and the accessors every kernel that reads weights uses, so the
// dequantization lives in one place, and W_BLOCK_ELEMENTS / W_BLOCK_WORDS: the type's block in
// elements and in 16-bit words (1 / 0 for the plain types).
//
// Addresses are in "units" of the bound array: elements for F32/F16/BF16, uint16_t words for the
// quantized types. A row of n weights spans w_row_units(n) units.
//
// Two accessors read a row's weights:
//   w_value(row_base, k)           weight k of the row at row_base, alone (decodes its block's
//                                  scale for this one weight: for kernels that read scattered weights)
//   w_chunk32(row_base, k0, n, w)  weights k0 .. k0 + 31 of the row (k0 a multiple of 32, n the
//                                  row's length), w[i] = weights 4i .. 4i + 3, 0 past n: a quantized
//                                  block's scales read and decoded once for its 32 weights, for
//                                  kernels that stage whole tiles (matmul_tiled, matmul_coopmat)
#include "common/quant.glsl"

#if defined(W_F32)
#define W_BLOCK_ELEMENTS F32_BLOCK_ELEMENTS
#define W_BLOCK_WORDS 0u
layout(set = 0, binding = W_BINDING) readonly buffer WeightBuf { float w_data[]; };
uint w_row_units(uint n) { return n; }
float w_value(uint row_base, uint k) { return w_data[row_base + k]; }
#define W_PLAIN_VALUE(i) w_data[i]
#elif defined(W_F16)
#define W_BLOCK_ELEMENTS F16_BLOCK_ELEMENTS
#define W_BLOCK_WORDS 0u
layout(set = 0, binding = W_BINDING) readonly buffer WeightBuf { float16_t w_data[]; };
uint w_row_units(uint n) { return n; }
float w_value(uint row_base, uint k) { return float(w_data[row_base + k]); }
#define W_PLAIN_VALUE(i) float(w_data[i])
#elif defined(W_Q8_0)
#define W_QUANTIZED 1
#define W_BLOCK_ELEMENTS Q8_0_BLOCK_ELEMENTS
#define W_BLOCK_WORDS Q8_0_BLOCK_WORDS
layout(set = 0, binding = W_BINDING) readonly buffer WeightBuf { uint16_t w_data[]; };
uint w_row_units(uint n) { return n / QK * Q8_0_BLOCK_WORDS; }
float w_value(uint row_base, uint k) {
  return q8_0_value(w_data, row_base + (k / QK) * Q8_0_BLOCK_WORDS, k % QK);
}
// Word 0 of a block: the f16 scale d; words 1-16: the 32 signed bytes q; weight = d * q.
void w_chunk32(uint row_base, uint k0, uint n, out vec4 w[8]) {
  const uint b = row_base + (k0 / QK) * Q8_0_BLOCK_WORDS;
  const float d = block_scale(w_data, b);
  for (uint i = 0; i < 8u; ++i) {
    w[i] = d * vec4(q8_0_pair(uint(w_data[b + 1u + 2u * i])), q8_0_pair(uint(w_data[b + 2u + 2u * i])));
  }
}
#elif defined(W_Q4_0)
#define W_QUANTIZED 1
#define W_BLOCK_ELEMENTS Q4_0_BLOCK_ELEMENTS
#define W_BLOCK_WORDS Q4_0_BLOCK_WORDS
layout(set = 0, binding = W_BINDING) readonly buffer WeightBuf { uint16_t w_data[]; };
uint w_row_units(uint n) { return n / QK * Q4_0_BLOCK_WORDS; }
float w_value(uint row_base, uint k) {
  return q4_0_value(w_data, row_base + (k / QK) * Q4_0_BLOCK_WORDS, k % QK);
}
// Word 0 of a block: the f16 scale d; word 1 + j: weights 2j, 2j + 1 (low nibbles) and 2j + 16,
// 2j + 17 (high nibbles), q4_0_quad; weight = d * (q - 8).
void w_chunk32(uint row_base, uint k0, uint n, out vec4 w[8]) {
  const uint b = row_base + (k0 / QK) * Q4_0_BLOCK_WORDS;
  const float d = block_scale(w_data, b);
  for (uint j = 0; j < 8u; j += 2u) {
    const vec4 lo = q4_0_quad(uint(w_data[b + 1u + j])), hi = q4_0_quad(uint(w_data[b + 2u + j]));
    w[j / 2u] = d * vec4(lo.xy, hi.xy);
    w[4u + j / 2u] = d * vec4(lo.zw, hi.zw);
  }
}
#elif defined(W_BF16)
#define W_BLOCK_ELEMENTS BF16_BLOCK_ELEMENTS
#define W_BLOCK_WORDS 0u
layout(set = 0, binding = W_BINDING) readonly buffer WeightBuf { uint16_t w_data[]; };
uint w_row_units(uint n) { return n; }
float w_value(uint row_base, uint k) { return bf16_value(w_data[row_base + k]); }
#define W_PLAIN_VALUE(i) bf16_value(w_data[i])
#elif defined(W_CHUNKED)
#define W_QUANTIZED 1
#define W_BLOCK_ELEMENTS WC_BLOCK_ELEMENTS
#define W_BLOCK_WORDS WC_BLOCK_WORDS
layout(set = 0, binding = W_BINDING) readonly buffer WeightBuf { uint16_t w_data[]; };
#define QB_W w_data
#define QB_SCALES w_scales
#define QB_QUANTS w_quants
#define QB_CHUNK w_chunk
#define QB_VALUE w_block_value
#include "common/quant_blocks.glsl"
uint w_row_units(uint n) { return n / WC_BLOCK_ELEMENTS * WC_BLOCK_WORDS; }
float w_value(uint row_base, uint k) {
  return w_block_value(row_base + (k / WC_BLOCK_ELEMENTS) * WC_BLOCK_WORDS, k % WC_BLOCK_ELEMENTS);
}
// Chunk (k0 % WC_BLOCK_ELEMENTS) / 32 of block k0 / WC_BLOCK_ELEMENTS: its scales decoded once.
void w_chunk32(uint row_base, uint k0, uint n, out vec4 w[8]) {
  w_chunk(row_base + (k0 / WC_BLOCK_ELEMENTS) * WC_BLOCK_WORDS, (k0 % WC_BLOCK_ELEMENTS) / QK, w);
}
#else
#error "define W_<TYPE> for a type with Vulkan kernels in engine/core/weight_types.def"
#endif

#if defined(W_PLAIN_VALUE)
// The plain types: 32 loads, each checked against the row's end (n need not be a multiple of 32).
void w_chunk32(uint row_base, uint k0, uint n, out vec4 w[8]) {
  for (uint i = 0; i < 8u; ++i) {
    for (uint l = 0; l < 4u; ++l) {
      const uint k = k0 + 4u * i + l;
      w[i][l] = k < n ? W_PLAIN_VALUE(row_base + k) : 0.0;
    }
  }
}
#undef W_PLAIN_VALUE
#endif
