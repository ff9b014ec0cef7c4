// Half-precision conversion and the reference Q8_0/Q4_0 block formats.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_floating_point.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/core/fp16.h"
#include "engine/core/quant.h"
#include "tests/closeness_checks.h"

using namespace vkgraph;

TEST_CASE("every half converts to float and back unchanged", "[core]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(uint16_t(h));
    if (std::isnan(f)) {
      CHECK((float_to_half(f) & 0x7c00) == 0x7c00);
      continue;
    }
    REQUIRE(float_to_half(f) == h);
  }
}

TEST_CASE("float to half rounds to nearest even", "[core]") {
  CHECK(float_to_half(1.0f) == 0x3c00);
  CHECK(float_to_half(65504.0f) == 0x7bff);
  CHECK(float_to_half(65520.0f) == 0x7c00);                // overflows to inf
  CHECK(float_to_half(1.0f + 1.0f / 2048.0f) == 0x3c00);   // halfway: even (down)
  CHECK(float_to_half(1.0f + 3.0f / 2048.0f) == 0x3c02);   // halfway: even (up)
  CHECK(float_to_half(5.960464477539063e-08f) == 0x0001);  // smallest subnormal
  CHECK(float_to_half(2.98e-08f) == 0x0000);               // below half of it
}

TEST_CASE("Q8_0 and Q4_0 round trips stay within their quantization step", "[core]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(96);
  for (float& v : x) v = dist(rng);
  for (DType type : {DType::Q8_0, DType::Q4_0}) {
    std::vector<std::byte> packed(row_bytes(type, x.size()));
    quantize_row(type, x.data(), packed.data(), x.size());
    std::vector<float> y(x.size());
    dequantize_row(type, packed.data(), y.data(), x.size());
    for (size_t b = 0; b < x.size() / 32; ++b) {
      float amax = 0;
      for (size_t i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
      // Q8_0's step is amax/127, rounding costs half of it. Q4_0's is amax/8 and its range is
      // [-8, 7] steps with the largest magnitude at -8, so the far end clamps: a whole step.
      // The f16 scale adds a relative 2^-11 per step.
      const float bound = type == DType::Q8_0 ? 0.5f * amax / 127.0f : amax / 8.0f;
      CHECK_CLOSE(testing::elementwise_close(std::span(y).subspan(b * 32, 32), std::span(x).subspan(b * 32, 32),
                                             bound + amax * 1e-3f));
    }
  }
}

TEST_CASE("Q4_0 packs weight i in the low nibble and i + 16 in the high nibble", "[core]") {
  BlockQ4_0 block{};
  block.d = float_to_half(2.0f);
  block.qs[0] = 0x9f;  // weight 0: 15 - 8 = 7; weight 16: 9 - 8 = 1
  float out[32];
  dequantize_row(DType::Q4_0, &block, out, 32);
  CHECK(out[0] == 14.0f);
  CHECK(out[16] == 2.0f);
  CHECK(out[1] == -16.0f);  // nibble 0 -> -8
}
