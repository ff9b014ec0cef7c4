#pragma once
// Catch2 checks over the suite's one NaN-safe comparison (engine/testing/closeness.h):
//   CHECK_CLOSE(testing::nmse_close(ours, reference, 1e-5));
// passes when the values are within the bound and all finite, and otherwise fails with the
// measure, the bound and the first non-finite value in the message.

#include <catch2/catch_test_macros.hpp>

#include "engine/testing/closeness.h"

#define VKGRAPH_CLOSE_IMPL(macro, ...)                              \
  do {                                                              \
    const ::vkgraph::testing::Closeness closeness_ = (__VA_ARGS__); \
    INFO(#__VA_ARGS__ << ": " << closeness_.describe());            \
    macro(closeness_.close);                                        \
  } while (0)

#define CHECK_CLOSE(...) VKGRAPH_CLOSE_IMPL(CHECK, __VA_ARGS__)
#define REQUIRE_CLOSE(...) VKGRAPH_CLOSE_IMPL(REQUIRE, __VA_ARGS__)
