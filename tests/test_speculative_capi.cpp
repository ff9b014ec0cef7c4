// Speculative decoding through the C API: vkgraph_context_set_draft with n-gram lookup and with a
// draft model gives the greedy text of a context without drafts, counts its steps, keeps the
// context consistent when a callback stops inside a step, and refuses what it cannot do.

#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

#include "include/vkgraph.h"
#include "models/synth/synth_model.h"
#include "tests/shared_files.h"
#include "tests/speculative_support.h"
#include "tests/temp_dir.h"

namespace {

vkgraph_model* load(const char* path) {
  vkgraph_model_params mp = vkgraph_model_default_params();
  mp.backend = "cpu";
  vkgraph_model* model = nullptr;
  const vkgraph_status s = vkgraph_model_load(path, &mp, &model);
  INFO(vkgraph_last_error());
  REQUIRE(s == VKGRAPH_OK);
  return model;
}

vkgraph_context* context(vkgraph_model* model, int32_t n_ctx = 256, int32_t sinks = 4) {
  vkgraph_context_params cp = vkgraph_context_default_params();
  cp.n_ctx = n_ctx;
  cp.sinks = sinks;
  vkgraph_context* ctx = nullptr;
  REQUIRE(vkgraph_context_create(model, &cp, &ctx) == VKGRAPH_OK);
  return ctx;
}

std::vector<vkgraph_token> prompt_of(vkgraph_model* model) {
  const std::string text = "Once upon a time";
  std::vector<vkgraph_token> ids(64);
  size_t n = 0;
  REQUIRE(vkgraph_tokenize(model, text.data(), text.size(), 1, 1, ids.data(), ids.size(), &n) == VKGRAPH_OK);
  ids.resize(n);
  return ids;
}

struct Tokens {
  std::vector<vkgraph_token> ids;
  int stop_after = -1;  // return nonzero once this many tokens have come
};

int collect(vkgraph_token token, const char*, size_t, void* user) {
  auto* t = static_cast<Tokens*>(user);
  if (token >= 0) t->ids.push_back(token);
  return t->stop_after >= 0 && int(t->ids.size()) >= t->stop_after ? 1 : 0;
}

// Greedy tokens of the prompt and then of a continuation with an empty prompt (the last logits
// kept by a generation that stopped at max_tokens).
std::vector<vkgraph_token> greedy_text(vkgraph_context* ctx, vkgraph_model* model) {
  vkgraph_sampler_params sp = vkgraph_sampler_default_params();
  sp.temperature = 0;
  vkgraph_sampler* sampler = nullptr;
  REQUIRE(vkgraph_sampler_create(&sp, &sampler) == VKGRAPH_OK);
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = 40;
  gp.ignore_eos = 1;
  const std::vector<vkgraph_token> prompt = prompt_of(model);
  Tokens t;
  REQUIRE(vkgraph_generate(ctx, sampler, prompt.data(), prompt.size(), &gp, collect, &t, nullptr) == VKGRAPH_OK);
  REQUIRE(vkgraph_generate(ctx, sampler, nullptr, 0, &gp, collect, &t, nullptr) == VKGRAPH_OK);
  vkgraph_sampler_free(sampler);
  return t.ids;
}

}  // namespace

TEST_CASE("capi: speculative decoding gives the greedy text without drafts", "[capi][speculative]") {
  vkgraph_model* model = load(nullptr);
  vkgraph_context* plain = context(model);
  const std::vector<vkgraph_token> expected = greedy_text(plain, model);
  REQUIRE(expected.size() == 80);
  vkgraph_draft_stats stats{};
  REQUIRE(vkgraph_context_draft_stats(plain, &stats) == VKGRAPH_OK);
  CHECK(stats.drafted == 0);

  vkgraph_model* drafter = load(nullptr);  // the same model as a separate draft model
  for (vkgraph_model* draft : {static_cast<vkgraph_model*>(nullptr), drafter}) {
    vkgraph_context* ctx = context(model);
    vkgraph_draft_params dp = vkgraph_draft_default_params();
    dp.max_tokens = 5;
    REQUIRE(vkgraph_context_set_draft(ctx, draft, &dp) == VKGRAPH_OK);
    CHECK(greedy_text(ctx, model) == expected);
    REQUIRE(vkgraph_context_draft_stats(ctx, &stats) == VKGRAPH_OK);  // of the second call
    INFO((draft ? "draft model: " : "n-gram: ") << stats.accepted << " of " << stats.drafted);
    CHECK(stats.drafted > 0);
    CHECK(stats.tokens == 39);  // the first token comes from the logits the first call left
    if (draft != nullptr) CHECK(stats.accepted == stats.drafted);
    if (draft != nullptr) CHECK(stats.target_steps == 7);  // 40 tokens in steps of up to 6
    // A model that drafts cannot be freed before its contexts.
    if (draft != nullptr) CHECK(vkgraph_model_free(draft) == VKGRAPH_ERR_INVALID_ARGUMENT);
    REQUIRE(vkgraph_context_free(ctx) == VKGRAPH_OK);
  }
  CHECK(vkgraph_model_free(drafter) == VKGRAPH_OK);
  vkgraph_context_free(plain);
  vkgraph_model_free(model);
}

TEST_CASE("capi: a callback that stops inside a verification step leaves a consistent context", "[capi][speculative]") {
  vkgraph_model* model = load(nullptr);
  vkgraph_context* ctx = context(model);
  REQUIRE(vkgraph_context_set_draft(ctx, model, nullptr) == VKGRAPH_OK);  // the model drafts for itself
  vkgraph_sampler_params sp = vkgraph_sampler_default_params();
  sp.temperature = 0;
  vkgraph_sampler* sampler = nullptr;
  REQUIRE(vkgraph_sampler_create(&sp, &sampler) == VKGRAPH_OK);
  const std::vector<vkgraph_token> prompt = prompt_of(model);
  Tokens t;
  t.stop_after = 4;  // inside the first step's 9 tokens
  vkgraph_stop_reason stop{};
  REQUIRE(vkgraph_generate(ctx, sampler, prompt.data(), prompt.size(), nullptr, collect, &t, &stop) == VKGRAPH_OK);
  CHECK(stop == VKGRAPH_STOP_CANCELLED);
  CHECK(t.ids.size() == 4);
  int32_t n_past = 0;
  REQUIRE(vkgraph_context_n_past(ctx, &n_past) == VKGRAPH_OK);
  CHECK(n_past == int32_t(prompt.size() + 4));  // every token handed out, none of the others
  vkgraph_sampler_free(sampler);
  vkgraph_context_free(ctx);
  vkgraph_model_free(model);
}

TEST_CASE("capi: vkgraph_context_set_draft refuses what it cannot do", "[capi][speculative]") {
  vkgraph_model* model = load(nullptr);
  vkgraph_context* ctx = context(model);
  vkgraph::testing::TempDir dir;

  SECTION("a draft model of another vocabulary, naming the difference") {
    vkgraph_model* other = load(vkgraph::testing::shared_file("models/tiny-gqa-f16.gguf").c_str());
    CHECK(vkgraph_context_set_draft(ctx, other, nullptr) == VKGRAPH_ERR_MODEL);
    CHECK(std::string(vkgraph_last_error()).find("the target has 512 tokens, the draft 4096") != std::string::npos);
    vkgraph::models::SynthOptions options;
    options.weights = "f32";
    const std::string path = dir.file("placeholders.gguf");
    vkgraph::models::write_synthetic_model(vkgraph::models::find_preset("stories260k"), options, path);
    vkgraph_model* same_size = load(path.c_str());
    CHECK(vkgraph_context_set_draft(ctx, same_size, nullptr) == VKGRAPH_ERR_MODEL);
    CHECK(std::string(vkgraph_last_error()).find("token 259 is '\xe2\x96\x81t' in the target") != std::string::npos);
    CHECK(vkgraph_model_free(other) == VKGRAPH_OK);  // refused drafts hold nothing
    CHECK(vkgraph_model_free(same_size) == VKGRAPH_OK);
  }
  SECTION("a KV ring that has tokens and lacks the spare slots") {
    const std::vector<vkgraph_token> prompt = prompt_of(model);
    REQUIRE(vkgraph_eval(ctx, prompt.data(), prompt.size(), nullptr) == VKGRAPH_OK);
    CHECK(vkgraph_context_set_draft(ctx, nullptr, nullptr) == VKGRAPH_ERR_INVALID_ARGUMENT);
    CHECK(std::string(vkgraph_last_error()).find("set the draft on a new or reset context") != std::string::npos);
    REQUIRE(vkgraph_context_reset(ctx) == VKGRAPH_OK);
    CHECK(vkgraph_context_set_draft(ctx, nullptr, nullptr) == VKGRAPH_OK);
    // Spare slots now: a smaller draft fits whatever the context holds.
    REQUIRE(vkgraph_eval(ctx, prompt.data(), prompt.size(), nullptr) == VKGRAPH_OK);
    vkgraph_draft_params dp = vkgraph_draft_default_params();
    dp.max_tokens = 3;
    CHECK(vkgraph_context_set_draft(ctx, nullptr, &dp) == VKGRAPH_OK);
    CHECK(vkgraph_context_clear_draft(ctx) == VKGRAPH_OK);
  }
  SECTION("parameters out of range") {
    vkgraph_draft_params dp = vkgraph_draft_default_params();
    dp.max_tokens = 0;
    CHECK(vkgraph_context_set_draft(ctx, nullptr, &dp) == VKGRAPH_ERR_INVALID_ARGUMENT);
    dp = vkgraph_draft_default_params();
    dp.min_tokens = dp.max_tokens + 1;
    CHECK(vkgraph_context_set_draft(ctx, nullptr, &dp) == VKGRAPH_ERR_INVALID_ARGUMENT);
    dp = vkgraph_draft_default_params();
    dp.p_min = 1.0f;
    CHECK(vkgraph_context_set_draft(ctx, nullptr, &dp) == VKGRAPH_ERR_INVALID_ARGUMENT);
    CHECK(vkgraph_context_set_draft(nullptr, nullptr, nullptr) == VKGRAPH_ERR_INVALID_ARGUMENT);
  }
  vkgraph_context_free(ctx);
  vkgraph_model_free(model);
}
