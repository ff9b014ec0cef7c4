// The suite's one "close enough" (engine/testing/closeness.h): the measures are what they say,
// and a NaN or a stray infinity fails whatever the bound, on either side.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <limits>
#include <vector>

#include "engine/testing/closeness.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {
constexpr float nan_value = std::numeric_limits<float>::quiet_NaN();
constexpr float inf_value = std::numeric_limits<float>::infinity();
}  // namespace

TEST_CASE("closeness: NMSE, largest relative difference and one value, by hand", "[testing][closeness]") {
  const std::vector<float> want = {1, 2, 3, 4}, got = {1, 2, 3, 5};
  const testing::Closeness c = testing::nmse_close(got, want, 1.0 / 30 + 1e-12);
  CHECK(c.close);
  CHECK(c.error == 1.0 / 30);  // 1 / (1 + 4 + 9 + 16)
  CHECK_FALSE(testing::nmse_close(got, want, 1.0 / 31).close);
  // All-zero reference: the plain sum of squares.
  CHECK(testing::nmse_close(std::vector<float>{0, 3}, std::vector<float>{0, 0}, 9).error == 9.0);
  // Rows: one NMSE over all of them.
  CHECK(testing::nmse_close(std::vector<std::vector<float>>{{1, 2}, {3, 5}},
                            std::vector<std::vector<float>>{{1, 2}, {3, 4}}, 1)
            .error == 1.0 / 30);
  const testing::Closeness e = testing::elementwise_close(got, want, 0.5, 0.1);  // allows 0.9 at 4
  CHECK_FALSE(e.close);
  CHECK(testing::value_close(e.error, 1.0 / 0.9, 1e-12).close);
  CHECK(testing::elementwise_close(got, want, 1.0).close);
  CHECK(testing::value_close(2.5, 2.0, 0.5).close);
  CHECK_FALSE(testing::value_close(2.5, 2.0, 0.25).close);
  CHECK(testing::value_close(110.0, 100.0, 0.0, 0.1).close);
}

TEST_CASE("closeness: a NaN fails every comparison whatever the bound", "[testing][closeness]") {
  const std::vector<float> want = {1, 2, 3}, got = {1, nan_value, 3};
  for (const testing::Closeness& c :
       {testing::nmse_close(got, want, 1e30), testing::nmse_close(want, got, 1e30),
        testing::nmse_close(std::vector<std::vector<float>>{got}, std::vector<std::vector<float>>{want}, 1e30),
        testing::elementwise_close(got, want, 1e30, 1e30), testing::value_close(nan_value, 1.0, 1e30),
        testing::value_close(1.0, nan_value, 1e30), testing::value_close(nan_value, nan_value, 1e30)}) {
    CHECK_FALSE(c.close);
    CHECK(c.mismatched == 1);
    CHECK_THAT(c.describe(), ContainsSubstring("non-finite"));
  }
  const testing::Closeness c = testing::nmse_close(got, want, 1);
  CHECK(c.first_mismatch == 1);
  CHECK_THAT(c.describe(), ContainsSubstring("at index 1: nan where the reference has 2"));
  // A NaN bound passes nothing either.
  CHECK_FALSE(testing::nmse_close(want, want, double(nan_value)).close);
}

TEST_CASE("closeness: infinities match only the same infinity", "[testing][closeness]") {
  const std::vector<float> masked = {-inf_value, 0.5f, 0.25f};
  CHECK(testing::nmse_close(masked, masked, 0).close);
  CHECK_FALSE(testing::nmse_close(std::vector<float>{inf_value, 0.5f, 0.25f}, masked, 1e30).close);
  CHECK_FALSE(testing::nmse_close(std::vector<float>{-1e30f, 0.5f, 0.25f}, masked, 1e30).close);
  CHECK_FALSE(testing::value_close(inf_value, 1e300, 1e300).close);
}
