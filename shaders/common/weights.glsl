// A weight matrix or table in one of the weight types, chosen by the variant's #define:
// W_F32, W_F16, W_Q8_0 or W_Q4_0 (W_<ENUM> of engine/core/weight_types.def). Declares the buffer
// at binding W_BINDING and the accessors every kernel that reads weights uses, so the
// dequantization lives in one place, and W_BLOCK_ELEMENTS / W_BLOCK_WORDS: the type's block in
// elements and in 16-bit words (1 / 0 for the plain types).
//
// Addresses are in "units" of the bound array: elements for F32/F16, uint16_t words for the
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
#else
#error "define one of W_F32, W_F16, W_Q8_0, W_Q4_0 (a type with Vulkan kernels in weight_types.def)"
#endif
