#pragma once
// The host codec of every type in weight_types.def: decode_<name> turns n elements (a whole
// number of blocks) into floats, encode_<name> turns n floats into blocks. dtype_info() holds
// pointers to them; callers use dequantize_row / quantize_row (quant.h).
//
// Decoders are bit-exact with GGUF's block formats: each value is computed with the float
// operations, in the order, that ggml-quants.c's reference decoders define (for example Q4_K's
// (d * sc) * q - (dmin * m), each product rounded to f32), so a decoded row is the same bytes
// llama.cpp's CPU decoder gives. Encoders are ours (codecs_*.cpp say how each searches).
//
// codecs_float.cpp: f32, f16, bf16. codecs_legacy.cpp: q8_0, q4_0, q4_1, q5_0, q5_1.
// codecs_k.cpp: q2_k .. q6_k decoding; codecs_k_encode.cpp: their quantizers.
// codecs_iq4.cpp: iq4_nl, iq4_xs. I32 is never a weight: its codec throws.

#include <cstddef>

namespace vkgraph {

#define VKGRAPH_TYPE(Enum, name, ggml_id, block_elements, block_bytes, vulkan) \
  void decode_##name(const void* blocks, float* out, size_t n);                \
  void encode_##name(const float* in, void* blocks, size_t n);
#include "engine/core/weight_types.def"
#undef VKGRAPH_TYPE

}  // namespace vkgraph
