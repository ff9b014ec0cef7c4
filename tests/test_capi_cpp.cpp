// The header-only C++ wrapper (include/vkgraph.hpp): RAII handles, errors as exceptions.

#include <catch2/catch_test_macros.hpp>

#include <string>

#include "include/vkgraph.hpp"

TEST_CASE("capi: the C++ wrapper streams, round-trips text and throws on errors", "[capi]") {
  try {
    vkgraph::cpp::Model missing("/nonexistent/model.gguf");
    FAIL("loading a missing file did not throw");
  } catch (const vkgraph::cpp::Error& e) {
    CHECK(e.status() == VKGRAPH_ERR_FILE);
    CHECK(std::string(e.what()).find("/nonexistent/model.gguf") != std::string::npos);
  }
  vkgraph_model_params mp = vkgraph_model_default_params();
  mp.backend = "cpu";
  vkgraph::cpp::Model model("", mp);
  const auto ids = model.tokenize("Once upon a time");
  CHECK(model.detokenize({ids.begin() + 1, ids.end()}) == "Once upon a time");
  vkgraph::cpp::Context ctx(model);
  auto sampler = vkgraph::cpp::Sampler::greedy();
  std::string text;
  int pieces = 0;
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = 50;
  const auto stop = ctx.generate(
      sampler, ids,
      [&](std::string_view piece) {
        text += piece;
        return ++pieces < 5;  // stop after five pieces
      },
      gp);
  CHECK(stop == VKGRAPH_STOP_CANCELLED);
  CHECK(pieces == 5);
  CHECK(text.rfind(", there was", 0) == 0);
}

TEST_CASE("capi: the C++ wrapper sets n-gram drafts and reports their counts", "[capi][speculative]") {
  vkgraph_model_params mp = vkgraph_model_default_params();
  mp.backend = "cpu";
  vkgraph::cpp::Model model("", mp);
  const auto ids = model.tokenize("Once upon a time");
  auto sampler = vkgraph::cpp::Sampler::greedy();
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = 60;
  std::string plain, drafted;
  vkgraph::cpp::Context a(model);
  a.generate(
      sampler, ids, [&](std::string_view piece) { return plain += piece, true; }, gp);
  vkgraph::cpp::Context b(model);
  b.set_draft(nullptr);
  b.generate(
      sampler, ids, [&](std::string_view piece) { return drafted += piece, true; }, gp);
  CHECK(drafted == plain);
  CHECK(b.draft_stats().drafted > 0);
  b.clear_draft();
  try {
    vkgraph_draft_params dp = vkgraph_draft_default_params();
    dp.max_tokens = 0;
    b.set_draft(nullptr, dp);
    FAIL("max_tokens 0 did not throw");
  } catch (const vkgraph::cpp::Error& e) {
    CHECK(e.status() == VKGRAPH_ERR_INVALID_ARGUMENT);
  }
}
