#pragma once
// Device decoding of one element of every weight type (engine/core/weight_types.def), in the
// block layouts of engine/core/blocks.h and with the float operations, in the order, of the host
// decoders (engine/core/codecs_*.cpp): a sub-block scale is an f32 product first, then times the
// quant, then the min subtracted. Blocks are read byte by byte (their f16 fields are 2-byte
// aligned: every block size is even), so any row start that the host layout allows works.
// Everything here is also host code: decode_host.cu runs it on the CPU so that tests compare it
// with the host decoders on machines without a GPU.

#include <cuda_fp16.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/core/blocks.h"
#include "engine/core/dtype.h"

#define VKGRAPH_HD __host__ __device__

namespace vkgraph::cuda {

VKGRAPH_HD inline float half_bits_to_float(const uint8_t* p) {
  return __half2float(__ushort_as_half(*reinterpret_cast<const unsigned short*>(p)));
}

// IQ4_NL / IQ4_XS level q (blocks.h kIq4Values).
VKGRAPH_HD inline float iq4_level(int q) {
  constexpr int8_t levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  return float(levels[q]);
}

// Element j of one block `b` of type T.
template <DType T>
VKGRAPH_HD inline float decode_element(const uint8_t* b, int j);

template <>
VKGRAPH_HD inline float decode_element<DType::F32>(const uint8_t* b, int) {
  return *reinterpret_cast<const float*>(b);
}
template <>
VKGRAPH_HD inline float decode_element<DType::F16>(const uint8_t* b, int) {
  return half_bits_to_float(b);
}
template <>
VKGRAPH_HD inline float decode_element<DType::BF16>(const uint8_t* b, int) {
  const uint32_t bits = uint32_t(*reinterpret_cast<const unsigned short*>(b)) << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

template <>
VKGRAPH_HD inline float decode_element<DType::Q8_0>(const uint8_t* b, int j) {
  return float(int8_t(b[offsetof(BlockQ8_0, qs) + j])) * half_bits_to_float(b);
}

// The nibble of weight j (0..31) of a 32-element block whose 16 nibble bytes start at qs: the
// low nibble of byte j for j < 16, the high nibble of byte j - 16 after.
VKGRAPH_HD inline int nibble32(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4; }

// Bit 4 of weight j of Q5_0/Q5_1: bit j of the little-endian u32 qh.
VKGRAPH_HD inline int high_bit32(const uint8_t* qh, int j) { return (qh[j / 8] >> (j % 8)) & 1; }

template <>
VKGRAPH_HD inline float decode_element<DType::Q4_0>(const uint8_t* b, int j) {
  return float(nibble32(b + offsetof(BlockQ4_0, qs), j) - 8) * half_bits_to_float(b);
}
template <>
VKGRAPH_HD inline float decode_element<DType::Q4_1>(const uint8_t* b, int j) {
  const float d = half_bits_to_float(b + offsetof(BlockQ4_1, d)), m = half_bits_to_float(b + offsetof(BlockQ4_1, m));
  return float(nibble32(b + offsetof(BlockQ4_1, qs), j)) * d + m;
}
template <>
VKGRAPH_HD inline float decode_element<DType::Q5_0>(const uint8_t* b, int j) {
  const int q = nibble32(b + offsetof(BlockQ5_0, qs), j) | high_bit32(b + offsetof(BlockQ5_0, qh), j) << 4;
  return float(q - 16) * half_bits_to_float(b);
}
template <>
VKGRAPH_HD inline float decode_element<DType::Q5_1>(const uint8_t* b, int j) {
  const float d = half_bits_to_float(b + offsetof(BlockQ5_1, d)), m = half_bits_to_float(b + offsetof(BlockQ5_1, m));
  const int q = nibble32(b + offsetof(BlockQ5_1, qs), j) | high_bit32(b + offsetof(BlockQ5_1, qh), j) << 4;
  return float(q) * d + m;
}
template <>
VKGRAPH_HD inline float decode_element<DType::IQ4_NL>(const uint8_t* b, int j) {
  return half_bits_to_float(b) * iq4_level(nibble32(b + offsetof(BlockIQ4_NL, qs), j));
}

// The 2-bit field of weight i (0..255) of Q2_K/Q3_K's qs: bits 2s of byte 32 * half + l.
VKGRAPH_HD inline int two_bits256(const uint8_t* qs, int i) {
  const int half = i / 128, s = (i % 128) / 32, l = i % 32;
  return (qs[32 * half + l] >> (2 * s)) & 3;
}

template <>
VKGRAPH_HD inline float decode_element<DType::Q2_K>(const uint8_t* b, int i) {
  const uint8_t sc = b[offsetof(BlockQ2_K, scales) + i / 16];
  const float scale = half_bits_to_float(b + offsetof(BlockQ2_K, d)) * float(sc & 0x0f);
  const float min = half_bits_to_float(b + offsetof(BlockQ2_K, dmin)) * float(sc >> 4);
  return scale * float(two_bits256(b + offsetof(BlockQ2_K, qs), i)) - min;
}

template <>
VKGRAPH_HD inline float decode_element<DType::Q3_K>(const uint8_t* b, int i) {
  const uint8_t* scales = b + offsetof(BlockQ3_K, scales);
  const int j = i / 16;
  const int s = (j < 8 ? scales[j] & 0x0f : scales[j - 8] >> 4) | ((scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4;
  const bool high = (b[offsetof(BlockQ3_K, hmask) + i % 32] >> (i / 32)) & 1;
  const float scale = half_bits_to_float(b + offsetof(BlockQ3_K, d)) * float(s - 32);
  return scale * float(two_bits256(b + offsetof(BlockQ3_K, qs), i) - (high ? 0 : 4));
}

// Q4_K/Q5_K's 6-bit scale and min of sub-block j (blocks.h k_scale_min).
VKGRAPH_HD inline void k_scale_min_device(const uint8_t* p, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = p[j] & 63;
    *min = p[j + 4] & 63;
  } else {
    *scale = (p[j + 4] & 0x0f) | (p[j - 4] >> 6) << 4;
    *min = (p[j + 4] >> 4) | (p[j] >> 6) << 4;
  }
}

// Weight i's nibble in Q4_K/Q5_K's qs: group g = i / 64 holds 64 weights in 32 bytes.
VKGRAPH_HD inline int nibble256(const uint8_t* qs, int i) {
  const uint8_t byte = qs[32 * (i / 64) + i % 32];
  return (i % 64) < 32 ? byte & 0x0f : byte >> 4;
}

template <>
VKGRAPH_HD inline float decode_element<DType::Q4_K>(const uint8_t* b, int i) {
  int sc = 0, m = 0;
  k_scale_min_device(b + offsetof(BlockQ4_K, scales), i / 32, &sc, &m);
  const float scale = half_bits_to_float(b + offsetof(BlockQ4_K, d)) * float(sc);
  const float min = half_bits_to_float(b + offsetof(BlockQ4_K, dmin)) * float(m);
  return scale * float(nibble256(b + offsetof(BlockQ4_K, qs), i)) - min;
}

template <>
VKGRAPH_HD inline float decode_element<DType::Q5_K>(const uint8_t* b, int i) {
  int sc = 0, m = 0;
  k_scale_min_device(b + offsetof(BlockQ5_K, scales), i / 32, &sc, &m);
  const float scale = half_bits_to_float(b + offsetof(BlockQ5_K, d)) * float(sc);
  const float min = half_bits_to_float(b + offsetof(BlockQ5_K, dmin)) * float(m);
  const int q = nibble256(b + offsetof(BlockQ5_K, qs), i) | ((b[offsetof(BlockQ5_K, qh) + i % 32] >> (i / 32)) & 1)
                                                                << 4;
  return scale * float(q) - min;
}

template <>
VKGRAPH_HD inline float decode_element<DType::Q6_K>(const uint8_t* b, int i) {
  const int half = i / 128, s = (i % 128) / 32, l = i % 32;
  const uint8_t low_byte = b[offsetof(BlockQ6_K, ql) + 64 * half + l + 32 * (s & 1)];
  const int low = s < 2 ? low_byte & 0x0f : low_byte >> 4;
  const int high = (b[offsetof(BlockQ6_K, qh) + 32 * half + l] >> (2 * s)) & 3;
  const float scale =
      half_bits_to_float(b + offsetof(BlockQ6_K, d)) * float(int8_t(b[offsetof(BlockQ6_K, scales) + i / 16]));
  return scale * float((low | high << 4) - 32);
}

template <>
VKGRAPH_HD inline float decode_element<DType::IQ4_XS>(const uint8_t* b, int i) {
  const int j = i / 32;
  const unsigned scales_h = *reinterpret_cast<const unsigned short*>(b + offsetof(BlockIQ4_XS, scales_h));
  const int ls = ((b[offsetof(BlockIQ4_XS, scales_l) + j / 2] >> (4 * (j % 2))) & 0x0f) | ((scales_h >> (2 * j)) & 3)
                                                                                              << 4;
  const float scale = half_bits_to_float(b + offsetof(BlockIQ4_XS, d)) * float(ls - 32);
  return scale * iq4_level(nibble32(b + offsetof(BlockIQ4_XS, qs) + 16 * j, i % 32));
}

// Block sizes of T, from the structs the host checks against weight_types.def.
template <DType T>
struct BlockOf;
#define VKGRAPH_TYPE(Enum, name, ggml_id, block_elements, block_bytes, vulkan) \
  template <>                                                                  \
  struct BlockOf<DType::Enum> {                                                \
    static constexpr int elements = block_elements;                            \
    static constexpr int bytes = block_bytes;                                  \
  };
#include "engine/core/weight_types.def"
#undef VKGRAPH_TYPE

// Element k of a row of type T stored at `row`.
template <DType T>
VKGRAPH_HD inline float load_element(const uint8_t* row, int64_t k) {
  constexpr int E = BlockOf<T>::elements, B = BlockOf<T>::bytes;
  return decode_element<T>(row + (k / E) * B, int(k % E));
}

}  // namespace vkgraph::cuda
