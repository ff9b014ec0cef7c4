// The plain types: f32 (a copy), f16 (IEEE half, round to nearest even) and bf16 (the upper half
// of an f32, round to nearest even). I32 is no weight type: its codec refuses.

#include <bit>
#include <cstdint>
#include <cstring>

#include "engine/core/codecs.h"
#include "engine/core/error.h"
#include "engine/core/fp16.h"

namespace vkgraph {

void decode_f32(const void* blocks, float* out, size_t n) { std::memcpy(out, blocks, n * sizeof(float)); }
void encode_f32(const float* in, void* blocks, size_t n) { std::memcpy(blocks, in, n * sizeof(float)); }

void decode_f16(const void* blocks, float* out, size_t n) {
  const auto* h = static_cast<const uint16_t*>(blocks);
  for (size_t i = 0; i < n; ++i) out[i] = half_to_float(h[i]);
}
void encode_f16(const float* in, void* blocks, size_t n) {
  auto* h = static_cast<uint16_t*>(blocks);
  for (size_t i = 0; i < n; ++i) h[i] = float_to_half(in[i]);
}

void decode_bf16(const void* blocks, float* out, size_t n) {
  const auto* b = static_cast<const uint16_t*>(blocks);
  for (size_t i = 0; i < n; ++i) out[i] = std::bit_cast<float>(uint32_t(b[i]) << 16);
}
void encode_bf16(const float* in, void* blocks, size_t n) {
  auto* b = static_cast<uint16_t*>(blocks);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t x = std::bit_cast<uint32_t>(in[i]);
    if ((x & 0x7fffffffu) > 0x7f800000u) {
      b[i] = uint16_t((x >> 16) | 0x40u);  // a NaN stays a (quiet) NaN
    } else {
      b[i] = uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);  // nearest, ties to even
    }
  }
}

void decode_i32(const void*, float*, size_t) { fail("i32 is not a weight type: it has no float decoding"); }
void encode_i32(const float*, void*, size_t) { fail("i32 is not a weight type: floats do not encode to it"); }

}  // namespace vkgraph
