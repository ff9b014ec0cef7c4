// `vkgraph plan` and `vkgraph test-ops` as a user runs them.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <string>

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::EndsWith;

namespace {

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout only
};

CliResult run_vkgraph(const std::string& args) {
  const std::string command = std::string(VKGRAPH_CLI_PATH) + " " + args + " 2>/dev/null";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  CliResult r;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) r.out.append(buffer, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace

TEST_CASE("vkgraph test-ops ends with the summary line", "[cli][testing]") {
  const CliResult r = run_vkgraph("test-ops --backend cpu --op argmax");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, ContainsSubstring("ok   argmax 3x32000"));
  CHECK_THAT(r.out, EndsWith("\n5 passed, 0 failed\n"));
  const CliResult bad = run_vkgraph("test-ops --backend no-such-backend");
  CHECK(bad.exit_code == 1);
}

TEST_CASE("vkgraph plan prints the steps and the arena against the sum of intermediates", "[cli][passes]") {
  const CliResult r = run_vkgraph("plan --tokens 4 --kv 64 --layers 1");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, ContainsSubstring("rms_norm_mul"));
  CHECK_THAT(r.out, ContainsSubstring("swiglu"));
  CHECK_THAT(r.out, ContainsSubstring("---- barrier ----"));
  CHECK_THAT(r.out, ContainsSubstring("storage:cache_k.0@0"));
  CHECK_THAT(r.out, ContainsSubstring("arena: peak"));
  CHECK_THAT(r.out, ContainsSubstring("intermediates unshared"));
  // Lowered on Vulkan (the default backend): every dispatch with its kernel, groups and bindings.
  CHECK_THAT(r.out, ContainsSubstring("dispatches on vulkan"));
  // A 4-token prefill of q8_0 weights: on a CPU-class device (lavapipe) the row-parallel kernel
  // with several tokens per invocation; on GPUs the tiled mat-mat.
  CHECK_THAT(r.out,
             ContainsSubstring("matmul/rows_q8_0_f32 groups") || ContainsSubstring("matmul/tiled_q8_0_f32 groups"));
  CHECK_THAT(r.out, ContainsSubstring("binding 0: token_embd"));
}
