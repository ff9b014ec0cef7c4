// `vkgraph run` through the KV ring: past the context with the default backend, and a prompt
// longer than the context.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "tests/run_command.h"

using Catch::Matchers::ContainsSubstring;

TEST_CASE("vkgraph run -c 64 --sinks 4 -n 1000 runs to the end through the ring", "[ring][cli][run]") {
  const auto r =
      vkgraph::testing::run_vkgraph("run -c 64 --sinks 4 -n 1000 --temp 0 --ignore-eos -v -p \"Once upon a time\"");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, ContainsSubstring("generation: 1000 tokens"));
  // 5 prompt tokens and 999 generated ones evaluated (the last is printed, never evaluated).
  CHECK_THAT(r.err, ContainsSubstring("KV ring: 64 slots, 4 sinks; 1004 tokens evaluated, 940 evicted"));
  CHECK_THAT(r.out, ContainsSubstring("Once upon a time"));
  CHECK(r.out.size() > 1000);
}

TEST_CASE("vkgraph run takes a prompt longer than the context through the ring", "[ring][cli][run]") {
  const auto r = vkgraph::testing::run_vkgraph(
      "run -c 8 --sinks 2 -n 5 --temp 0 --ignore-eos -v --backend cpu -p \"Once upon a time there was a little girl "
      "named Lily\"");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, ContainsSubstring("KV ring: 8 slots, 2 sinks"));
  CHECK_THAT(r.err, ContainsSubstring("generation: 5 tokens"));
}
