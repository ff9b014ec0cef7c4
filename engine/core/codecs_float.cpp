// The plain types: f32 (a copy), f16 (IEEE half, round to nearest even) and bf16 (the upper half
// of an f32, round to nearest even). I32 is no weight type: its codec refuses.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/core/codecs.h"
#include "engine/core/error.h"
#include "engine/core/fp16.h"

namespace vkgraph {

void decode_f32(const void* blocks, float* out, size_t n) { std::memcpy(out, blocks, n * sizeof(float)); }
void encode_f32(const float* in, void* blocks, size_t n) { std::memcpy(blocks, in, n * sizeof(float)); }

namespace {

// 16-bit words at any byte offset: a GGUF file may declare an alignment of 1, so tensor data
// (and hence these words) can start at an odd address.
uint16_t load_u16(const void* words, size_t i) {
  uint16_t v;
  std::memcpy(&v, static_cast<const std::byte*>(words) + 2 * i, sizeof v);
  return v;
}
void store_u16(void* words, size_t i, uint16_t v) { std::memcpy(static_cast<std::byte*>(words) + 2 * i, &v, sizeof v); }

}  // namespace

void decode_f16(const void* blocks, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = half_to_float(load_u16(blocks, i));
}
void encode_f16(const float* in, void* blocks, size_t n) {
  for (size_t i = 0; i < n; ++i) store_u16(blocks, i, float_to_half(in[i]));
}

void decode_bf16(const void* blocks, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = std::bit_cast<float>(uint32_t(load_u16(blocks, i)) << 16);
}
void encode_bf16(const float* in, void* blocks, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t x = std::bit_cast<uint32_t>(in[i]);
    if ((x & 0x7fffffffu) > 0x7f800000u) {
      store_u16(blocks, i, uint16_t((x >> 16) | 0x40u));  // a NaN stays a (quiet) NaN
    } else {
      store_u16(blocks, i, uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16));  // nearest, ties to even
    }
  }
}

void decode_i32(const void*, float*, size_t) { fail("i32 is not a weight type: it has no float decoding"); }
void encode_i32(const float*, void*, size_t) { fail("i32 is not a weight type: floats do not encode to it"); }

}  // namespace vkgraph
