// `vkgraph synth` writes a model of a real model's shapes that loads and runs, with the real
// vocabulary when given a tokenizer.json.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cmath>

#include "engine/backend/registry.h"
#include "models/model.h"
#include "models/session.h"
#include "models/tokenizer/tokenizer.h"
#include "run_command.h"
#include "shared_files.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("vkgraph synth writes SmolLM2-135M's shapes with its real tokenizer", "[cli][synth]") {
  testing::TempDir dir;
  const std::string path = dir.file("smollm2.gguf");
  const std::string tokenizer = testing::shared_file("tokenizers/smollm2-135m-instruct.tokenizer.json");
  // Two of the 30 layers keep the test quick; every other dimension is the real one.
  const auto r = testing::run_vkgraph("synth --preset smollm2-135m --type q4_0 --layers 2 --tokenizer " +
                                      testing::shell_quote(tokenizer) + " -o " + testing::shell_quote(path));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, ContainsSubstring("synthetic"));

  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(path, *backend);
  const auto& hp = model->hparams();
  CHECK(hp.n_embd == 576);
  CHECK(hp.n_head == 9);
  CHECK(hp.n_head_kv == 3);
  CHECK(hp.n_ff == 1536);
  CHECK(hp.n_vocab == 49152);
  CHECK(hp.tied_output);
  CHECK(model->weight_type() == "q4_0");
  // The same ids as the llama.cpp reference for SmolLM2's tokenizer.
  CHECK(model->tokenizer().encode("Hello world", false, true) == std::vector<int32_t>{19556, 905});

  models::Session session(*model, *backend, {64});
  const std::vector<int32_t> prompt = {19556, 905};
  const std::vector<float> logits = session.eval(prompt);
  REQUIRE(logits.size() == 49152);
  for (float v : logits) REQUIRE(std::isfinite(v));
}

TEST_CASE("vkgraph synth refuses an unknown preset and names the known ones", "[cli][synth]") {
  const auto r = testing::run_vkgraph("synth --preset gpt-5 -o /tmp/never.gguf");
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, ContainsSubstring("unknown preset 'gpt-5'"));
  CHECK_THAT(r.err, ContainsSubstring("smollm2-135m"));
}
