// The 32-element block types: q8_0, q4_0, q4_1, q5_0, q5_1 (layouts in blocks.h). Their
// quantizers are the plain round-to-nearest ones that llama.cpp's quantizer uses for these types
// when it has no importance matrix, so files we write decode to the values llama.cpp's would.

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "engine/core/blocks.h"
#include "engine/core/codecs.h"
#include "engine/core/fp16.h"

namespace vkgraph {
namespace {

// Block b of a row.
template <typename Block>
const Block* blocks_of(const void* p) {
  return static_cast<const Block*>(p);
}
template <typename Block>
Block* blocks_of(void* p) {
  return static_cast<Block*>(p);
}

// Bit 4 of the 5-bit quants of Q5_0/Q5_1: weight j's in bit j of the little-endian u32 qh.
uint32_t high_bits(const uint8_t (&qh)[4]) {
  return uint32_t(qh[0]) | uint32_t(qh[1]) << 8 | uint32_t(qh[2]) << 16 | uint32_t(qh[3]) << 24;
}
void store_high_bits(uint32_t bits, uint8_t (&qh)[4]) {
  for (int i = 0; i < 4; ++i) qh[i] = uint8_t(bits >> (8 * i));
}

// The value of largest magnitude, with its sign (the symmetric quantizers map it to the most
// negative code).
float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

void min_max(const float* x, int n, float* min, float* max) {
  *min = FLT_MAX;
  *max = -FLT_MAX;
  for (int i = 0; i < n; ++i) {
    *min = std::min(*min, x[i]);
    *max = std::max(*max, x[i]);
  }
}

}  // namespace

void decode_q8_0(const void* data, float* out, size_t n) {
  const auto* b = blocks_of<BlockQ8_0>(data);
  for (size_t i = 0; i < n / 32; ++i, out += 32) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < 32; ++j) out[j] = float(b[i].qs[j]) * d;
  }
}

void encode_q8_0(const float* x, void* data, size_t n) {
  auto* b = blocks_of<BlockQ8_0>(data);
  for (size_t i = 0; i < n / 32; ++i, x += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = float_to_half(d);
    for (int j = 0; j < 32; ++j) b[i].qs[j] = static_cast<int8_t>(std::lround(x[j] * id));
  }
}

void decode_q4_0(const void* data, float* out, size_t n) {
  const auto* b = blocks_of<BlockQ4_0>(data);
  for (size_t i = 0; i < n / 32; ++i, out += 32) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < 16; ++j) {
      out[j] = float(int(b[i].qs[j] & 0x0f) - 8) * d;
      out[j + 16] = float(int(b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void encode_q4_0(const float* x, void* data, size_t n) {
  auto* b = blocks_of<BlockQ4_0>(data);
  for (size_t i = 0; i < n / 32; ++i, x += 32) {
    const float d = signed_absmax(x, 32) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = float_to_half(d);
    for (int j = 0; j < 16; ++j) {
      const auto q0 = static_cast<uint8_t>(std::min(15.0f, x[j] * id + 8.5f));
      const auto q1 = static_cast<uint8_t>(std::min(15.0f, x[j + 16] * id + 8.5f));
      b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void decode_q4_1(const void* data, float* out, size_t n) {
  const auto* b = blocks_of<BlockQ4_1>(data);
  for (size_t i = 0; i < n / 32; ++i, out += 32) {
    const float d = half_to_float(b[i].d), m = half_to_float(b[i].m);
    for (int j = 0; j < 16; ++j) {
      out[j] = float(b[i].qs[j] & 0x0f) * d + m;
      out[j + 16] = float(b[i].qs[j] >> 4) * d + m;
    }
  }
}

// The range [min, max] in 15 steps, each value rounded to the nearest step.
void encode_q4_1(const float* x, void* data, size_t n) {
  auto* b = blocks_of<BlockQ4_1>(data);
  for (size_t i = 0; i < n / 32; ++i, x += 32) {
    float min = 0.0f, max = 0.0f;
    min_max(x, 32, &min, &max);
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = float_to_half(d);
    b[i].m = float_to_half(min);
    for (int j = 0; j < 16; ++j) {
      const auto q0 = static_cast<uint8_t>(std::min(15.0f, (x[j] - min) * id + 0.5f));
      const auto q1 = static_cast<uint8_t>(std::min(15.0f, (x[j + 16] - min) * id + 0.5f));
      b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void decode_q5_0(const void* data, float* out, size_t n) {
  const auto* b = blocks_of<BlockQ5_0>(data);
  for (size_t i = 0; i < n / 32; ++i, out += 32) {
    const float d = half_to_float(b[i].d);
    const uint32_t qh = high_bits(b[i].qh);
    for (int j = 0; j < 16; ++j) {
      const int q0 = int(b[i].qs[j] & 0x0f) | int((qh >> j) & 1u) << 4;
      const int q1 = int(b[i].qs[j] >> 4) | int((qh >> (j + 16)) & 1u) << 4;
      out[j] = float(q0 - 16) * d;
      out[j + 16] = float(q1 - 16) * d;
    }
  }
}

void encode_q5_0(const float* x, void* data, size_t n) {
  auto* b = blocks_of<BlockQ5_0>(data);
  for (size_t i = 0; i < n / 32; ++i, x += 32) {
    const float d = signed_absmax(x, 32) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = float_to_half(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const auto q0 = static_cast<uint8_t>(std::min(31.0f, x[j] * id + 16.5f));
      const auto q1 = static_cast<uint8_t>(std::min(31.0f, x[j + 16] * id + 16.5f));
      b[i].qs[j] = static_cast<uint8_t>((q0 & 0x0f) | ((q1 & 0x0f) << 4));
      qh |= uint32_t(q0 >> 4) << j | uint32_t(q1 >> 4) << (j + 16);
    }
    store_high_bits(qh, b[i].qh);
  }
}

void decode_q5_1(const void* data, float* out, size_t n) {
  const auto* b = blocks_of<BlockQ5_1>(data);
  for (size_t i = 0; i < n / 32; ++i, out += 32) {
    const float d = half_to_float(b[i].d), m = half_to_float(b[i].m);
    const uint32_t qh = high_bits(b[i].qh);
    for (int j = 0; j < 16; ++j) {
      const int q0 = int(b[i].qs[j] & 0x0f) | int((qh >> j) & 1u) << 4;
      const int q1 = int(b[i].qs[j] >> 4) | int((qh >> (j + 16)) & 1u) << 4;
      out[j] = float(q0) * d + m;
      out[j + 16] = float(q1) * d + m;
    }
  }
}

// The range [min, max] in 31 steps.
void encode_q5_1(const float* x, void* data, size_t n) {
  auto* b = blocks_of<BlockQ5_1>(data);
  for (size_t i = 0; i < n / 32; ++i, x += 32) {
    float min = 0.0f, max = 0.0f;
    min_max(x, 32, &min, &max);
    const float d = (max - min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = float_to_half(d);
    b[i].m = float_to_half(min);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      // A rounding error at the top of the range must not wrap to 0: clamp to the last code.
      const auto q0 = static_cast<uint8_t>(std::min(31.0f, (x[j] - min) * id + 0.5f));
      const auto q1 = static_cast<uint8_t>(std::min(31.0f, (x[j + 16] - min) * id + 0.5f));
      b[i].qs[j] = static_cast<uint8_t>((q0 & 0x0f) | ((q1 & 0x0f) << 4));
      qh |= uint32_t(q0 >> 4) << j | uint32_t(q1 >> 4) << (j + 16);
    }
    store_high_bits(qh, b[i].qh);
  }
}

}  // namespace vkgraph
