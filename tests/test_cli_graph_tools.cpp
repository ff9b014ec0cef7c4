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
  // The bundled model's first layer, its matrices converted to q8_0 while loading.
  const CliResult r = run_vkgraph("plan --weights q8_0 --tokens 4 --kv 64 --layers 1");
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
  // The models' builder made the step: the bundled model's dimensions, one of its 5 layers.
  CHECK_THAT(r.out, ContainsSubstring("step: 4 tokens, 64 cache slots, 1 of 5 layers, n_embd 64"));
}

TEST_CASE("vkgraph plan -v prints each dispatch's kernel row and why it was chosen", "[cli][passes][kernels]") {
  const CliResult r = run_vkgraph("plan -v --tokens 1 --kv 64 --layers 1");
  REQUIRE(r.exit_code == 0);
  // Decode attention: the split-K row of CPU-class devices (lavapipe), with the reason the table
  // gives for it.
  CHECK_THAT(r.out,
             ContainsSubstring("row attention/split_direct_kv_f16@cpu (attention(f16, f32, decode), attention_split): "
                               "decode, CPU-class device: split-K"));
  // The norm: the one-subgroup row of CPU-class devices.
  CHECK_THAT(r.out, ContainsSubstring("row norm/rms_norm_mul_subgroup_f32@cpu (rms_norm_mul(f32, f32), row_reduction): "
                                      "CPU-class device: one subgroup per row"));
  const CliResult plain = run_vkgraph("plan --tokens 1 --kv 64 --layers 1");
  CHECK_THAT(plain.out, !ContainsSubstring("CPU-class device: split-K"));
}

TEST_CASE("vkgraph test-ops --kernel forces one row on the cases it runs", "[cli][testing][kernels]") {
  // The 128-wide add row: never chosen on a device allowing 256 invocations, still runnable.
  const CliResult r = run_vkgraph("test-ops --kernel 'elementwise/add_f32#1'");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, ContainsSubstring("ok   add "));
  CHECK_THAT(r.out, ContainsSubstring("row elementwise/add_f32#1 (add(f32, f32), elementwise, workgroup 128"));
  CHECK_THAT(r.out, ContainsSubstring("why: devices limited to 128 invocations"));
  CHECK_THAT(r.out, EndsWith(" passed, 0 failed\n"));
  // Split-K's reduce pass runs only in decodes cut into chunks; some op case is one.
  const CliResult reduce = run_vkgraph("test-ops --kernel attention/split_reduce");
  CHECK(reduce.exit_code == 0);
  CHECK_THAT(reduce.out, ContainsSubstring("n_slots=4096"));
  // A cooperative-matrix row on a device without cooperative matrices: skipped, naming why.
  const CliResult coop = run_vkgraph("test-ops --kernel matmul/coopmat_q4_0_f32");
  CHECK_THAT(coop.out, ContainsSubstring("row matmul/coopmat_q4_0_f32: skipped on ") ||
                           ContainsSubstring("row matmul/coopmat_q4_0_f32 ("));
  // A name that is no row: an error (stdout is empty, the message on stderr).
  CHECK(run_vkgraph("test-ops --kernel no/such_kernel").exit_code == 1);
  const CliResult list = run_vkgraph("test-ops --list-kernels");
  CHECK_THAT(list.out, ContainsSubstring("matmul/rows_q4_0_f32@gpu"));
  CHECK_THAT(list.out, ContainsSubstring("attention/tiled_kv_f16#3"));
}

TEST_CASE("vkgraph bench --kernel times a row's cases after checking them", "[cli][bench][kernels]") {
  const CliResult r = run_vkgraph("bench --kernel 'elementwise/silu_f32#0' -r 2");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, ContainsSubstring("| row | case | us/run | GB/s | nmse | ok |"));
  CHECK_THAT(r.out, ContainsSubstring("| elementwise/silu_f32#0 | silu "));
  CHECK_THAT(r.out, ContainsSubstring(" | ok |"));
}
