// --lora FILE[:SCALE] and --lora-merge on `vkgraph run`, a synthetic adapter from `vkgraph synth
// --lora-rank`, and `vkgraph bench --lora` measuring a model with and without it in one run.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <nlohmann/json.hpp>

#include "engine/backend/registry.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"
#include "run_command.h"
#include "shared_files.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

// The greedy continuation `vkgraph run` prints for the stories prompt with these options.
std::string story(const std::string& options) {
  const auto r = testing::run_vkgraph("run --backend cpu --temp 0 -n 24 -p 'Once upon a time' " + options);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

}  // namespace

TEST_CASE("vkgraph run --lora and --lora-merge", "[lora][cli]") {
  const std::string adapter = testing::shell_quote(testing::shared_file("models/stories260K-lora.gguf"));
  const std::string base = story("");
  const std::string adapted = story("--lora " + adapter);
  CHECK(adapted != base);
  CHECK(story("--lora " + adapter + ":1") == adapted);
  CHECK(story("--lora " + adapter + ":0") == base);
  CHECK(story("--lora " + adapter + ":0.5 --lora " + adapter + ":0.5") == adapted);
  CHECK(story("--lora " + adapter + " --lora-merge") == adapted);  // f32 weights: merging loses nothing visible

  const auto missing = testing::run_vkgraph("run --backend cpu -n 1 -p x --lora /nonexistent/a.gguf:0.5");
  CHECK(missing.exit_code != 0);
  CHECK_THAT(missing.err, ContainsSubstring("/nonexistent/a.gguf"));
  const auto nan = testing::run_vkgraph("run --backend cpu -n 1 -p x --lora " + adapter + ":nan");
  CHECK(nan.exit_code != 0);
  CHECK_THAT(nan.err, ContainsSubstring("is not a finite number"));
  const auto alone = testing::run_vkgraph("run --backend cpu -n 1 -p x --lora-merge");
  CHECK(alone.exit_code != 0);
  CHECK_THAT(alone.err, ContainsSubstring("--lora-merge: no --lora adapter"));
}

TEST_CASE("vkgraph synth --lora-rank writes an adapter bench measures beside the model", "[lora][cli][bench]") {
  testing::TempDir dir;
  const std::string model = dir.file("smollm2.gguf"), adapter = dir.file("r8.gguf");
  // Two of the 30 layers keep the test quick; the shapes are SmolLM2-135M's.
  REQUIRE(testing::run_vkgraph("synth --preset smollm2-135m --type q4_0 --layers 2 -o " + model).exit_code == 0);
  const auto synth = testing::run_vkgraph("synth --preset smollm2-135m --layers 2 --lora-rank 8 -o " + adapter);
  INFO(synth.err);
  REQUIRE(synth.exit_code == 0);
  CHECK_THAT(synth.out, ContainsSubstring("rank 8, alpha 16"));
  {
    auto backend = create_backend("cpu", "");
    const auto m = models::Model::load(model, *backend);
    const auto a = models::LoraAdapter::load(adapter, *m, *backend);
    CHECK(a->pairs().size() == 2 * 7);
    CHECK(a->alpha() == 16.0f);
    CHECK(a->find("blk.1.ffn_down.weight")->a.shape == Shape{8, 1536});
  }
  const auto bench =
      testing::run_vkgraph("bench --backend cpu -m " + model + " --lora " + adapter + ":0.5 -p 0 -n 2 -r 1 -o json");
  INFO(bench.err);
  REQUIRE(bench.exit_code == 0);
  const nlohmann::json rows = nlohmann::json::parse(bench.out);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1]["model"].get<std::string>() == rows[0]["model"].get<std::string>() + " + LoRA r8.gguf:0.5");
  for (const auto& row : rows) CHECK(row["ts_mean"].get<double>() > 0.0);
}
