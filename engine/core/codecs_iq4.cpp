// IQ4_NL (blocks of 32, one f16 scale) and IQ4_XS (super-blocks of 256: 8 sub-blocks of 32 with
// 6-bit scales), both on the 16 non-linear levels kIq4Values. The quantizer searches the scale
// as llama.cpp's does without an importance matrix: squared error weighted by x^2, the inverse
// scales that put the block's largest value at +127 or on -127 - 7 .. -127 + 7, each with its
// least-squares scale.

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/blocks.h"
#include "engine/core/codecs.h"
#include "engine/core/fp16.h"
#include "engine/core/scale_search.h"

namespace vkgraph {
namespace {

using quant_search::nearest;

// The level nearest to v (ties go to the upper level).
int nearest_level(float v) {
  if (v <= kIq4Values[0]) return 0;
  if (v >= kIq4Values[15]) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    (v < kIq4Values[mid] ? hi : lo) = mid;
  }
  return v - float(kIq4Values[lo]) < float(kIq4Values[hi]) - v ? lo : hi;
}

// The scale of one block of 32 (0 for an all-zero block).
float search_iq4_scale(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  if (amax < quant_search::kTiny) return 0.0f;
  float best_scale = 0.0f, best_score = -1.0f;
  // First the largest value on the top level's side (+127), then on the bottom level -127 and
  // the 7 inverse scales either side of that one.
  for (int t = -8; t <= 7; ++t) {
    const float id = t == -8 ? -float(kIq4Values[0]) / max : (float(t) + float(kIq4Values[0])) / max;
    float sum_qx = 0.0f, sum_q2 = 0.0f;
    for (int j = 0; j < 32; ++j) {
      const float q = kIq4Values[nearest_level(id * x[j])];
      const float w = x[j] * x[j];
      sum_qx += w * q * x[j];
      sum_q2 += w * q * q;
    }
    if (sum_q2 > 0.0f && sum_qx * sum_qx / sum_q2 > best_score) {
      best_score = sum_qx * sum_qx / sum_q2;
      best_scale = sum_qx / sum_q2;
    }
  }
  return best_score >= 0.0f ? best_scale : -max / float(kIq4Values[0]);
}

// 32 values on the levels of scale d, packed as nibbles (value j low, j + 16 high).
void pack_levels(const float* x, float d, uint8_t* qs) {
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < 16; ++j) {
    qs[j] = uint8_t(nearest_level(id * x[j]) | nearest_level(id * x[j + 16]) << 4);
  }
}

}  // namespace

void decode_iq4_nl(const void* data, float* out, size_t n) {
  const auto* b = static_cast<const BlockIQ4_NL*>(data);
  for (size_t i = 0; i < n / 32; ++i, out += 32) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < 16; ++j) {
      out[j] = d * float(kIq4Values[b[i].qs[j] & 0x0f]);
      out[j + 16] = d * float(kIq4Values[b[i].qs[j] >> 4]);
    }
  }
}

void encode_iq4_nl(const float* x, void* data, size_t n) {
  auto* b = static_cast<BlockIQ4_NL*>(data);
  for (size_t i = 0; i < n / 32; ++i, x += 32) {
    b[i].d = float_to_half(search_iq4_scale(x));
    // The codes are chosen for the scale as stored, the one the decoder multiplies by.
    pack_levels(x, half_to_float(b[i].d), b[i].qs);
  }
}

void decode_iq4_xs(const void* data, float* out, size_t n) {
  const auto* blocks = static_cast<const BlockIQ4_XS*>(data);
  for (size_t b = 0; b < n / 256; ++b) {
    const BlockIQ4_XS& k = blocks[b];
    const float d = half_to_float(k.d);
    for (int j = 0; j < 8; ++j, out += 32) {
      const int ls = ((k.scales_l[j / 2] >> (4 * (j % 2))) & 0x0f) | ((k.scales_h >> (2 * j)) & 3) << 4;
      const float scale = d * float(ls - 32);
      const uint8_t* qs = k.qs + 16 * j;
      for (int l = 0; l < 16; ++l) {
        out[l] = scale * float(kIq4Values[qs[l] & 0x0f]);
        out[l + 16] = scale * float(kIq4Values[qs[l] >> 4]);
      }
    }
  }
}

// Each sub-block's scale as for IQ4_NL, then 6-bit signed sub-scales against d = -max / 32 (the
// largest maps to -32, the extra negative step).
void encode_iq4_xs(const float* x, void* data, size_t n) {
  auto* blocks = static_cast<BlockIQ4_XS*>(data);
  for (size_t b = 0; b < n / 256; ++b, x += 256) {
    BlockIQ4_XS& k = blocks[b];
    float scales[8], max_scale = 0.0f, amax = 0.0f;
    for (int j = 0; j < 8; ++j) {
      scales[j] = search_iq4_scale(x + 32 * j);
      if (std::fabs(scales[j]) > amax) {
        amax = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    k.d = float_to_half(-max_scale / 32.0f);
    const float d = half_to_float(k.d);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    k.scales_h = 0;
    std::memset(k.scales_l, 0, sizeof k.scales_l);
    for (int j = 0; j < 8; ++j) {
      const int l = std::clamp(nearest(id * scales[j]), -32, 31);
      pack_levels(x + 32 * j, d * float(l), k.qs + 16 * j);
      const int stored = l + 32;
      k.scales_l[j / 2] |= uint8_t((stored & 0x0f) << (4 * (j % 2)));
      k.scales_h = uint16_t(k.scales_h | (stored >> 4) << (2 * j));
    }
  }
}

}  // namespace vkgraph
