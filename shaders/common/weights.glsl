// A weight matrix or table in one of the weight types, chosen by the variant's #define:
// W_<ENUM> of engine/core/weight_types.def (the W_CHUNKED quantized types decode through
// common/quant_blocks.glsl). Declares the buffer
// at binding W_BINDING and the accessors every kernel that reads weights uses, so the
// dequantization lives in one place, and W_BLOCK_ELEMENTS / W_BLOCK_WORDS: the type's block in
// elements and in 16-bit words (1 / 0 for the plain types).
//
// Addresses are in "units" of the bound array: elements for F32/F16/BF16, uint16_t words for the
// quantized types. A row of n weights spans w_row_units(n) units.
#include "common/quant.glsl"

#if defined(W_F32)
#define W_BLOCK_ELEMENTS F32_BLOCK_ELEMENTS
#define W_BLOCK_WORDS 0u
layout(set = 0, binding = W_BINDING) readonly buffer WeightBuf { float w_data[]; };
uint w_row_units(uint n) { return n; }
float w_value(uint row_base, uint k) { return w_data[row_base + k]; }
#elif defined(W_F16)
#define W_BLOCK_ELEMENTS F16_BLOCK_ELEMENTS
#define W_BLOCK_WORDS 0u
layout(set = 0, binding = W_BINDING) readonly buffer WeightBuf { float16_t w_data[]; };
uint w_row_units(uint n) { return n; }
float w_value(uint row_base, uint k) { return float(w_data[row_base + k]); }
#elif defined(W_Q8_0)
#define W_QUANTIZED 1
#define W_BLOCK_ELEMENTS Q8_0_BLOCK_ELEMENTS
#define W_BLOCK_WORDS Q8_0_BLOCK_WORDS
layout(set = 0, binding = W_BINDING) readonly buffer WeightBuf { uint16_t w_data[]; };
uint w_row_units(uint n) { return n / QK * Q8_0_BLOCK_WORDS; }
float w_value(uint row_base, uint k) {
  return q8_0_value(w_data, row_base + (k / QK) * Q8_0_BLOCK_WORDS, k % QK);
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
#elif defined(W_BF16)
#define W_BLOCK_ELEMENTS BF16_BLOCK_ELEMENTS
#define W_BLOCK_WORDS 0u
layout(set = 0, binding = W_BINDING) readonly buffer WeightBuf { uint16_t w_data[]; };
uint w_row_units(uint n) { return n; }
float w_value(uint row_base, uint k) { return bf16_value(w_data[row_base + k]); }
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
#else
#error "define W_<TYPE> for a type with Vulkan kernels in engine/core/weight_types.def"
#endif
