// `vkgraph bench --ops`: the per-op breakdown of one decode step adds up to the step, checked
// by value, and the library pieces behind the rows (statistics, roofline, copy probe).

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

#include "cli/bench/bench_runner.h"
#include "cli/bench/roofline.h"
#include "engine/backend/registry.h"
#include "engine/backend/vulkan/probe_kernels.h"
#include "models/model.h"
#include "models/synth/synth_model.h"
#include "run_command.h"
#include "vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("bench --ops per-op times add up to within 10% of the step time", "[bench][cli][ops]") {
  // SmolLM2-135M's 64-token prompt step and its decode step (hundreds of small dispatches).
  const auto r = testing::run_vkgraph("bench --synth smollm2-135m:q4_0 -p 64 -n 1 -r 1 --ops -o json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json rows = nlohmann::json::parse(r.out);
  REQUIRE(rows.size() == 2);
  for (const nlohmann::json& row : rows) {
    const nlohmann::json& ops = row["ops"];
    REQUIRE(ops.is_object());
    const double step_ms = ops["step_ms"].get<double>(), ops_ms = ops["ops_ms"].get<double>();
    INFO(row["test"] << ": step " << step_ms << " ms, ops " << ops_ms << " ms, without timestamps "
                     << ops["untimed_step_ms"].get<double>() << " ms");
    REQUIRE(step_ms > 0.0);
    CHECK(ops["untimed_step_ms"].get<double>() > 0.0);
    CHECK(ops["n_tokens"] == (row["test"] == "pp64" ? 64 : 1));
    // The regions lie inside the step and tile it (each lasts until the next begins), so what is
    // left outside is the submission and the wait: within 10% for both steps.
    CHECK(ops_ms <= step_ms);
    CHECK(ops_ms >= 0.90 * step_ms);

    double sum = 0.0, share = 0.0;
    int dispatches = 0;
    std::set<std::string> names;
    for (const nlohmann::json& op : ops["ops"]) {
      sum += op["ms"].get<double>();
      share += op["share"].get<double>();
      dispatches += op["dispatches"].get<int>();
      CHECK(op["ms"].get<double>() >= 0.0);
      CHECK(op["gb_per_s"].get<double>() >= 0.0);
      CHECK(std::abs(op["share"].get<double>() - op["ms"].get<double>() / step_ms) <= 1e-9);
      names.insert(op["op"].get<std::string>());
    }
    CHECK(std::abs(sum - ops_ms) <= 1e-9 * ops_ms);
    CHECK(std::abs(share - ops_ms / step_ms) <= 1e-9);
    CHECK(names.count("matmul") == 1);
    CHECK(names.count("attention") == 1);
    // 30 layers of at least q/k/v (maybe fused), o, gate/up, down, plus the output.
    CHECK(dispatches >= 30 * 4 + 1);
  }
}

TEST_CASE("bench --ops -o md adds the per-op table", "[bench][cli][ops]") {
  const auto r = testing::run_vkgraph("bench --synth test-llama:q8_0 -p 0 -n 2 -r 2 --ops -o md");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, ContainsSubstring("per-op profile:"));
  CHECK_THAT(r.out, ContainsSubstring("| op | kernel | dispatches | ms | share | GB/s |"));
  CHECK_THAT(r.out, ContainsSubstring("| matmul | matmul/"));
  CHECK_THAT(r.out, ContainsSubstring("| sum of ops |"));
  CHECK_THAT(r.out, ContainsSubstring("| step (wall) |"));
}

TEST_CASE("bench statistics: mean and sample standard deviation", "[bench]") {
  CHECK(bench::mean_of({}) == 0.0);
  CHECK(bench::stddev_of({5.0}) == 0.0);
  CHECK(bench::mean_of({1.0, 2.0, 3.0, 4.0}) == 2.5);
  // sqrt(((1.5^2 + 0.5^2) * 2) / 3)
  CHECK(std::abs(bench::stddev_of({1.0, 2.0, 3.0, 4.0}) - std::sqrt(5.0 / 3.0)) < 1e-12);
}

TEST_CASE("bench roofline counts the weights and KV positions read and the FLOPs of a step", "[bench]") {
  testing::TempDir dir;
  const std::string path = dir.file("test-llama.gguf");
  models::SynthOptions options;
  options.weights = "f32";
  models::write_synthetic_model(models::find_preset("test-llama"), options, path);
  auto backend = create_backend("cpu");
  const auto model = models::Model::load(path, *backend);
  // test-llama: vocab 512, embd 128, 2 layers, 4 heads, 2 KV heads, head_dim 32, ff 320, untied.
  const double layer_matmul = 128.0 * 128 + 2 * 64.0 * 128 + 128.0 * 128 + 3 * 320.0 * 128;
  const double matmul_params = 2 * layer_matmul + 512.0 * 128;
  const double norms = 2 * 2 * 128.0 + 128;
  const bench::TokenCost cost = bench::token_cost(*model, DType::F16);
  CHECK(cost.matmul_params == matmul_params);
  // f32 weights: every matrix and norm once, and one 128-float row of the embedding table.
  CHECK(cost.weight_bytes == 4.0 * (matmul_params + norms + 128));
  CHECK(cost.kv_bytes_per_position == 2.0 * 2 * 64 * 2);  // K and V, 2 layers, 2 x 32 f16
  CHECK(cost.attention_flops_per_pair == 4.0 * 2 * 4 * 32);
  // tg2 after 10 positions: the steps attend 11 and 12 positions.
  CHECK(bench::tg_bytes_per_token(cost, 10, 2) == cost.weight_bytes + cost.kv_bytes_per_position * 11.5);
  // pp4 at depth 0: queries see 1, 2, 3, 4 keys.
  CHECK(bench::pp_flops_per_token(cost, 0, 4) == 2.0 * matmul_params + cost.attention_flops_per_pair * 2.5);
}

TEST_CASE("the copy probe measures a positive bandwidth on the Vulkan device", "[bench][vulkan]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  const vk::CopyProbe bw = vk::measure_copy_bandwidth(ctx, 4 << 20, 2);
  CHECK(bw.buffer_bytes == (4u << 20));
  CHECK(bw.runs == 2);
  CHECK(bw.bytes_per_second > 1e8);
  CHECK(bw.bytes_per_second < 1e14);  // 100 TB/s: no device is near that
  CHECK(bw.timestamps == ctx->has(vk::Feature::timestamps));
}
