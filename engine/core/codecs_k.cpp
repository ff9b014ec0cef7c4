// Decoding of the K-quant super-blocks (q2_k .. q6_k; layouts in blocks.h). Each value is
// computed as ggml-quants.c's reference decoders define it: the sub-block's scale (and min)
// formed first as an f32 product of the super-block scale and the small integer scale, then
// multiplied by the quant (and the min subtracted), each operation rounded to f32.

#include "engine/core/blocks.h"
#include "engine/core/codecs.h"
#include "engine/core/fp16.h"

namespace vkgraph {

void decode_q2_k(const void* data, float* out, size_t n) {
  const auto* blocks = static_cast<const BlockQ2_K*>(data);
  for (size_t b = 0; b < n / 256; ++b, out += 256) {
    const BlockQ2_K& k = blocks[b];
    const float d = half_to_float(k.d), dmin = half_to_float(k.dmin);
    for (int i = 0; i < 256; ++i) {
      const int half = i / 128, s = (i % 128) / 32, l = i % 32;
      const int q = (k.qs[32 * half + l] >> (2 * s)) & 3;
      const uint8_t sc = k.scales[i / 16];
      const float scale = d * float(sc & 0x0f), min = dmin * float(sc >> 4);
      out[i] = scale * float(q) - min;
    }
  }
}

// Q3_K's 6-bit scale of sub-block j, as stored (0..63; the value is s - 32).
static int q3_k_scale(const BlockQ3_K& k, int j) {
  const int low = j < 8 ? k.scales[j] & 0x0f : k.scales[j - 8] >> 4;
  const int high = (k.scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | high << 4;
}

void decode_q3_k(const void* data, float* out, size_t n) {
  const auto* blocks = static_cast<const BlockQ3_K*>(data);
  for (size_t b = 0; b < n / 256; ++b, out += 256) {
    const BlockQ3_K& k = blocks[b];
    const float d = half_to_float(k.d);
    for (int i = 0; i < 256; ++i) {
      const int half = i / 128, s = (i % 128) / 32, l = i % 32;
      const int low = (k.qs[32 * half + l] >> (2 * s)) & 3;
      const bool high = (k.hmask[l] >> (i / 32)) & 1;
      const float scale = d * float(q3_k_scale(k, i / 16) - 32);
      out[i] = scale * float(low - (high ? 0 : 4));
    }
  }
}

void decode_q4_k(const void* data, float* out, size_t n) {
  const auto* blocks = static_cast<const BlockQ4_K*>(data);
  for (size_t b = 0; b < n / 256; ++b, out += 256) {
    const BlockQ4_K& k = blocks[b];
    const float d = half_to_float(k.d), dmin = half_to_float(k.dmin);
    for (int j = 0; j < 8; ++j) {  // sub-blocks of 32
      uint8_t sc = 0, m = 0;
      k_scale_min(k.scales, j, &sc, &m);
      const float scale = d * float(sc), min = dmin * float(m);
      const uint8_t* q = k.qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      for (int l = 0; l < 32; ++l) out[32 * j + l] = scale * float((q[l] >> shift) & 0x0f) - min;
    }
  }
}

void decode_q5_k(const void* data, float* out, size_t n) {
  const auto* blocks = static_cast<const BlockQ5_K*>(data);
  for (size_t b = 0; b < n / 256; ++b, out += 256) {
    const BlockQ5_K& k = blocks[b];
    const float d = half_to_float(k.d), dmin = half_to_float(k.dmin);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc = 0, m = 0;
      k_scale_min(k.scales, j, &sc, &m);
      const float scale = d * float(sc), min = dmin * float(m);
      const uint8_t* q = k.qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      for (int l = 0; l < 32; ++l) {
        const int q5 = ((q[l] >> shift) & 0x0f) | ((k.qh[l] >> j) & 1) << 4;
        out[32 * j + l] = scale * float(q5) - min;
      }
    }
  }
}

void decode_q6_k(const void* data, float* out, size_t n) {
  const auto* blocks = static_cast<const BlockQ6_K*>(data);
  for (size_t b = 0; b < n / 256; ++b, out += 256) {
    const BlockQ6_K& k = blocks[b];
    const float d = half_to_float(k.d);
    for (int i = 0; i < 256; ++i) {
      const int half = i / 128, s = (i % 128) / 32, l = i % 32;
      const uint8_t low_byte = k.ql[64 * half + l + 32 * (s & 1)];
      const int low = s < 2 ? low_byte & 0x0f : low_byte >> 4;
      const int high = (k.qh[32 * half + l] >> (2 * s)) & 3;
      const float scale = d * float(k.scales[i / 16]);
      out[i] = scale * float((low | high << 4) - 32);
    }
  }
}

}  // namespace vkgraph
