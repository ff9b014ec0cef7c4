#include "engine/core/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/error.h"
#include "engine/core/fp16.h"

namespace vkgraph {

void dequantize_row(DType type, const void* data, float* out, size_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(out, data, n * sizeof(float));
      return;
    case DType::F16: {
      const auto* h = static_cast<const uint16_t*>(data);
      for (size_t i = 0; i < n; ++i) out[i] = half_to_float(h[i]);
      return;
    }
    case DType::Q8_0: {
      const auto* blocks = static_cast<const BlockQ8_0*>(data);
      for (size_t b = 0; b < n / 32; ++b) {
        const float d = half_to_float(blocks[b].d);
        for (int i = 0; i < 32; ++i) out[b * 32 + i] = d * float(blocks[b].qs[i]);
      }
      return;
    }
    case DType::Q4_0: {
      const auto* blocks = static_cast<const BlockQ4_0*>(data);
      for (size_t b = 0; b < n / 32; ++b) {
        const float d = half_to_float(blocks[b].d);
        for (int i = 0; i < 16; ++i) {
          out[b * 32 + i] = d * float(int(blocks[b].qs[i] & 0x0f) - 8);
          out[b * 32 + i + 16] = d * float(int(blocks[b].qs[i] >> 4) - 8);
        }
      }
      return;
    }
    case DType::I32:
      break;
  }
  fail("cannot dequantize {}", dtype_name(type));
}

void quantize_row(DType type, const float* in, void* out, size_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(out, in, n * sizeof(float));
      return;
    case DType::F16: {
      auto* h = static_cast<uint16_t*>(out);
      for (size_t i = 0; i < n; ++i) h[i] = float_to_half(in[i]);
      return;
    }
    case DType::Q8_0: {
      auto* blocks = static_cast<BlockQ8_0*>(out);
      for (size_t b = 0; b < n / 32; ++b) {
        const float* x = in + b * 32;
        float amax = 0.0f;
        for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = float_to_half(d);
        for (int i = 0; i < 32; ++i) blocks[b].qs[i] = static_cast<int8_t>(std::lround(x[i] * id));
      }
      return;
    }
    case DType::Q4_0: {
      auto* blocks = static_cast<BlockQ4_0*>(out);
      for (size_t b = 0; b < n / 32; ++b) {
        const float* x = in + b * 32;
        // The scale maps the value of largest magnitude, with its sign, to -8.
        float amax = 0.0f, max = 0.0f;
        for (int i = 0; i < 32; ++i) {
          if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
          }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = float_to_half(d);
        for (int i = 0; i < 16; ++i) {
          const auto q0 = static_cast<uint8_t>(std::min(15.0f, x[i] * id + 8.5f));
          const auto q1 = static_cast<uint8_t>(std::min(15.0f, x[i + 16] * id + 8.5f));
          blocks[b].qs[i] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
      }
      return;
    }
    case DType::I32:
      break;
  }
  fail("cannot quantize to {}", dtype_name(type));
}

}  // namespace vkgraph
