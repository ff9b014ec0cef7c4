// The K-quant quantizers. Each super-block of 256 is cut into sub-blocks (16 or 32 values); each
// sub-block gets its own scale (and min) from a least-squares search (scale_search.h), the
// sub-block scales are then quantized against one f16 super-block scale, and finally every value
// is rounded again with the scale it will actually be decoded with. The weighting of the error
// and the search grids are those llama.cpp's quantizer uses without an importance matrix (see
// each function), so files we write are as close to the original weights as its files.

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/blocks.h"
#include "engine/core/codecs.h"
#include "engine/core/fp16.h"
#include "engine/core/scale_search.h"

namespace vkgraph {
namespace {

using quant_search::fit_affine;
using quant_search::Grid;
using quant_search::nearest;

// The f16 value a scale is stored and decoded as.
float as_stored(float v) { return half_to_float(float_to_half(v)); }

// Q4_K/Q5_K: 8 sub-blocks of 32 with affine fits, 6-bit scales and mins. Weights: the sub-block's
// RMS plus each value's magnitude (large values matter more, none counts for nothing).
void encode_k_affine32(const float* x, int nmax, const Grid& grid, uint16_t* d_out, uint16_t* dmin_out,
                       uint8_t* packed_scales, uint8_t* codes) {
  float scales[8], mins[8], w[32];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    const float* xb = x + 32 * j;
    float sum_x2 = 0.0f;
    for (int l = 0; l < 32; ++l) sum_x2 += xb[l] * xb[l];
    const float rms = std::sqrt(sum_x2 / 32.0f);
    for (int l = 0; l < 32; ++l) w[l] = rms + std::fabs(xb[l]);
    scales[j] = fit_affine(xb, w, 32, nmax, grid, false, codes + 32 * j, &mins[j]);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = uint8_t(std::min(63, nearest(inv_scale * scales[j])));
    lm[j] = uint8_t(std::min(63, nearest(inv_min * mins[j])));
  }
  // Packing (blocks.h k_scale_min): sub-blocks 0-3 in the low 6 bits of bytes 0-3 (scales) and
  // 4-7 (mins); 4-7 as nibbles of bytes 8-11 with their top two bits in bits 6-7 of bytes 0-7.
  std::memset(packed_scales, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      packed_scales[j] = ls[j];
      packed_scales[j + 4] = lm[j];
    } else {
      packed_scales[j + 4] = uint8_t((ls[j] & 0x0f) | (lm[j] & 0x0f) << 4);
      packed_scales[j - 4] |= uint8_t((ls[j] >> 4) << 6);
      packed_scales[j] |= uint8_t((lm[j] >> 4) << 6);
    }
  }
  *d_out = float_to_half(max_scale / 63.0f);
  *dmin_out = float_to_half(max_min / 63.0f);
  const float d = half_to_float(*d_out), dmin = half_to_float(*dmin_out);
  for (int j = 0; j < 8; ++j) {
    const float scale = d * float(ls[j]);
    if (scale == 0.0f) continue;
    const float min = dmin * float(lm[j]);
    for (int l = 0; l < 32; ++l)
      codes[32 * j + l] = uint8_t(std::clamp(nearest((x[32 * j + l] + min) / scale), 0, nmax));
  }
}

// Q3_K and Q6_K: 16 sub-blocks of 16, symmetric fits weighted by x^2, signed sub-block scales
// against the super-block scale d: sub_scale = d * s with s in [-half, half - 1] (Q6_K
// stores s, Q3_K s + 32). Returns d; writes s per sub-block and the signed codes (l + nmax).
template <typename Fit>
float encode_k_symmetric16(const float* x, int nmax, int half, Fit fit, int* s, int8_t* codes) {
  float scales[16], w[16];
  float max_scale = 0.0f, amax = 0.0f;
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 16; ++l) w[l] = x[16 * j + l] * x[16 * j + l];
    scales[j] = fit(x + 16 * j, w, codes + 16 * j);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  if (amax < quant_search::kTiny) {
    for (int j = 0; j < 16; ++j) s[j] = 0;
    std::fill(codes, codes + 256, int8_t(nmax));
    return 0.0f;
  }
  // The largest scale maps to -half, the extra negative step (as the codes do).
  const float iscale = -float(half) / max_scale;
  for (int j = 0; j < 16; ++j) s[j] = std::clamp(nearest(iscale * scales[j]), -half, half - 1);
  const float d = as_stored(1.0f / iscale);
  for (int j = 0; j < 16; ++j) {
    const float scale = d * float(s[j]);
    if (scale == 0.0f) continue;
    for (int l = 0; l < 16; ++l) {
      codes[16 * j + l] = int8_t(std::clamp(nearest(x[16 * j + l] / scale), -nmax, nmax - 1) + nmax);
    }
  }
  return 1.0f / iscale;
}

// Two bits of each of 128 codes into 32 bytes: code 32 * s + l at bits 2s of byte l.
void pack_2bit_half(const uint8_t* codes, uint8_t* out) {
  for (int l = 0; l < 32; ++l) {
    out[l] = uint8_t((codes[l] & 3) | (codes[l + 32] & 3) << 2 | (codes[l + 64] & 3) << 4 | (codes[l + 96] & 3) << 6);
  }
}

}  // namespace

// Q2_K: 16 sub-blocks of 16 with affine fits on codes 0..3, 4-bit scales and mins. Weighted by
// |x| with the absolute error, on a grid of 16 inverse scales from nmax - 0.5 upwards in tenths.
void encode_q2_k(const float* x, void* data, size_t n) {
  auto* blocks = static_cast<BlockQ2_K*>(data);
  for (size_t b = 0; b < n / 256; ++b, x += 256) {
    BlockQ2_K& k = blocks[b];
    uint8_t codes[256];
    float scales[16], mins[16], w[16];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) w[l] = std::fabs(x[16 * j + l]);
      scales[j] = fit_affine(x + 16 * j, w, 16, 3, Grid{-0.5f, 0.1f, 15}, true, codes + 16 * j, &mins[j]);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    for (int j = 0; j < 16; ++j) {
      const int ls = max_scale > 0.0f ? nearest(15.0f / max_scale * scales[j]) : 0;
      const int lm = max_min > 0.0f ? nearest(15.0f / max_min * mins[j]) : 0;
      k.scales[j] = uint8_t(std::min(15, ls) | std::min(15, lm) << 4);
    }
    k.d = float_to_half(max_scale > 0.0f ? max_scale / 15.0f : 0.0f);
    k.dmin = float_to_half(max_min > 0.0f ? max_min / 15.0f : 0.0f);
    const float d = half_to_float(k.d), dmin = half_to_float(k.dmin);
    for (int j = 0; j < 16; ++j) {
      const float scale = d * float(k.scales[j] & 0x0f);
      if (scale == 0.0f) continue;
      const float min = dmin * float(k.scales[j] >> 4);
      for (int l = 0; l < 16; ++l) {
        codes[16 * j + l] = uint8_t(std::clamp(nearest((x[16 * j + l] + min) / scale), 0, 3));
      }
    }
    pack_2bit_half(codes, k.qs);
    pack_2bit_half(codes + 128, k.qs + 32);
  }
}

// Q3_K: codes -4..3 fitted with coordinate descent after the scale search, 6-bit signed scales.
void encode_q3_k(const float* x, void* data, size_t n) {
  auto* blocks = static_cast<BlockQ3_K*>(data);
  const auto fit = [](const float* xb, const float* w, int8_t* q) {
    return quant_search::fit_symmetric_refined(xb, w, 16, 4, 5, q);
  };
  for (size_t b = 0; b < n / 256; ++b, x += 256) {
    BlockQ3_K& k = blocks[b];
    int s[16];
    int8_t codes[256];
    k.d = float_to_half(encode_k_symmetric16(x, 4, 32, fit, s, codes));
    std::memset(k.scales, 0, sizeof k.scales);
    for (int j = 0; j < 16; ++j) {
      const int stored = s[j] + 32;  // 6 bits: low nibble, then the top two bits
      if (j < 8) {
        k.scales[j] = uint8_t(stored & 0x0f);
      } else {
        k.scales[j - 8] |= uint8_t((stored & 0x0f) << 4);
      }
      k.scales[8 + j % 4] |= uint8_t((stored >> 4) << (2 * (j / 4)));
    }
    // Codes 0..7 (l + 4): the top bit of code i goes to bit i / 32 of hmask[i % 32].
    uint8_t low[256];
    std::memset(k.hmask, 0, sizeof k.hmask);
    for (int i = 0; i < 256; ++i) {
      const int code = codes[i];
      if (code > 3) k.hmask[i % 32] |= uint8_t(1u << (i / 32));
      low[i] = uint8_t(code & 3);
    }
    pack_2bit_half(low, k.qs);
    pack_2bit_half(low + 128, k.qs + 32);
  }
}

// Q4_K: codes 0..15; inverse scales from nmax - 1 upwards in 21 tenths.
void encode_q4_k(const float* x, void* data, size_t n) {
  auto* blocks = static_cast<BlockQ4_K*>(data);
  for (size_t b = 0; b < n / 256; ++b, x += 256) {
    BlockQ4_K& k = blocks[b];
    uint8_t codes[256];
    encode_k_affine32(x, 15, Grid{-1.0f, 0.1f, 20}, &k.d, &k.dmin, k.scales, codes);
    for (int g = 0; g < 4; ++g) {
      for (int l = 0; l < 32; ++l) k.qs[32 * g + l] = uint8_t(codes[64 * g + l] | codes[64 * g + 32 + l] << 4);
    }
  }
}

// Q5_K: codes 0..31; inverse scales from nmax - 0.5 upwards in 16 tenths.
void encode_q5_k(const float* x, void* data, size_t n) {
  auto* blocks = static_cast<BlockQ5_K*>(data);
  for (size_t b = 0; b < n / 256; ++b, x += 256) {
    BlockQ5_K& k = blocks[b];
    uint8_t codes[256];
    encode_k_affine32(x, 31, Grid{-0.5f, 0.1f, 15}, &k.d, &k.dmin, k.scales, codes);
    std::memset(k.qh, 0, sizeof k.qh);
    for (int g = 0; g < 4; ++g) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = codes[64 * g + l], hi = codes[64 * g + 32 + l];
        k.qs[32 * g + l] = uint8_t((lo & 0x0f) | (hi & 0x0f) << 4);
        k.qh[l] |= uint8_t((lo >> 4) << (2 * g) | (hi >> 4) << (2 * g + 1));
      }
    }
  }
}

// Q6_K: codes -32..31 from the scale search (19 inverse scales a tenth of a code apart), 8-bit
// signed scales.
void encode_q6_k(const float* x, void* data, size_t n) {
  auto* blocks = static_cast<BlockQ6_K*>(data);
  const auto fit = [](const float* xb, const float* w, int8_t* q) {
    return quant_search::fit_symmetric(xb, w, 16, 32, 9, q);
  };
  for (size_t b = 0; b < n / 256; ++b, x += 256) {
    BlockQ6_K& k = blocks[b];
    int s[16];
    int8_t codes[256];
    k.d = float_to_half(encode_k_symmetric16(x, 32, 128, fit, s, codes));
    for (int j = 0; j < 16; ++j) k.scales[j] = int8_t(std::min(127, s[j]));
    for (int half = 0; half < 2; ++half) {
      const int8_t* c = codes + 128 * half;
      for (int l = 0; l < 32; ++l) {
        const int q0 = c[l], q1 = c[l + 32], q2 = c[l + 64], q3 = c[l + 96];
        k.ql[64 * half + l] = uint8_t((q0 & 0x0f) | (q2 & 0x0f) << 4);
        k.ql[64 * half + l + 32] = uint8_t((q1 & 0x0f) | (q3 & 0x0f) << 4);
        k.qh[32 * half + l] = uint8_t((q0 >> 4) | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6);
      }
    }
  }
}

}  // namespace vkgraph
