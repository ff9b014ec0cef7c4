// Speculative decoding in the batched serving engine (models/serving/batch_engine.h): n-gram
// drafts verified in the sequences' own rows of a batched step, rejected ones rolled back in the
// paged KV cache (scheduler.h; the rollback itself is checked against a twin in
// test_serving_scheduler.cpp). The oracle is the same engine without drafts: greedy tokens must
// be identical, request by request, alone and mixed with others, and through preemption.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <memory>
#include <vector>

#include "engine/backend/registry.h"
#include "models/bundled/default_model.h"
#include "models/model.h"
#include "models/serving/engine.h"
#include "tests/serving_requests.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

// The bundled story prompts, plus one that repeats itself (prompt lookup's best case).
std::vector<serving::Request> requests_for(const models::Model& model, int64_t max_tokens) {
  std::vector<serving::Request> out;
  for (const auto& p : test::story_prompts(model)) {
    serving::Request r = test::greedy_request(p, max_tokens);
    r.ignore_eos = true;  // every request runs its full length, so drafts keep coming
    out.push_back(r);
  }
  const Tokenizer& tok = model.tokenizer();
  serving::Request loop = test::greedy_request(
      tok.encode("The cat sat on the mat. The cat sat on the mat. The cat sat on the", tok.add_bos(), true),
      max_tokens);
  loop.ignore_eos = true;
  out.push_back(loop);
  return out;
}

// Every request's tokens from `engine`, all submitted at once.
std::vector<std::vector<int32_t>> run_together(serving::Engine& engine, const std::vector<serving::Request>& requests) {
  std::vector<std::unique_ptr<test::Collector>> cs;
  for (const serving::Request& r : requests) {
    cs.push_back(std::make_unique<test::Collector>());
    engine.submit(r, cs.back()->on_token(), cs.back()->on_done());
  }
  std::vector<std::vector<int32_t>> out;
  for (auto& c : cs) {
    const serving::Completion done = test::wait(*c);
    CHECK(done.reason == serving::FinishReason::length);
    out.push_back(c->tokens);
  }
  return out;
}

void check_drafts_change_nothing(const std::string& backend_name, int64_t kv_blocks) {
  test::ValidationGuard guard;
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_parallel = 4;
  options.n_ctx = 96;
  options.block_size = 4;  // drafts cross block boundaries often, so rollback frees whole blocks
  options.kv_blocks = kv_blocks;
  options.step_tokens = 32;
  constexpr int64_t max_tokens = 48;
  const std::vector<serving::Request> requests = requests_for(*model, max_tokens);

  auto plain = serving::Engine::create(*model, *backend, options);
  const std::vector<std::vector<int32_t>> expected = run_together(*plain, requests);

  options.speculative.draft_max = 6;
  auto engine = serving::Engine::create(*model, *backend, options);
  // Alone and then all together (drafts of several sequences in one step), same tokens.
  const std::vector<serving::Completion> done = test::check_together_equals_alone(*engine, requests);
  const std::vector<std::vector<int32_t>> got = run_together(*engine, requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    INFO("request " << i);
    CHECK(got[i].size() == size_t(max_tokens));
    CHECK(got[i] == expected[i]);
  }
  const serving::EngineMetrics m = engine->metrics();
  // Both outcomes happened: accepted drafts (tokens for free) and rejected ones (rolled back).
  CHECK(m.draft_tokens_accepted_total > 0);
  CHECK(m.draft_tokens_accepted_total < m.draft_tokens_total);
  CHECK(m.generated_tokens_total == 3 * requests.size() * max_tokens);
  CHECK(m.kv_blocks_used == 0);
  CHECK(m.running_sequences == 0);
  int64_t drafted = 0, accepted = 0;
  for (const serving::Completion& c : done) {
    drafted += c.drafted_tokens;
    accepted += c.accepted_tokens;
    CHECK(c.accepted_tokens <= c.drafted_tokens);
  }
  CHECK(drafted > 0);
  CHECK(accepted > 0);
  if (kv_blocks > 0) CHECK(m.preemptions_total > 0);
}

}  // namespace

TEST_CASE("serving speculation: greedy tokens are those without drafts (cpu)", "[serving][model][speculative]") {
  check_drafts_change_nothing("cpu", 0);
}

TEST_CASE("serving speculation: greedy tokens are those without drafts (vulkan)",
          "[serving][model][speculative][vulkan]") {
  check_drafts_change_nothing("vulkan", 0);
}

// 30 blocks of 4 tokens: four sequences of up to 70 tokens cannot all stay, so sequences holding
// drafts are preempted; they come back from their verified tokens only.
TEST_CASE("serving speculation: preempted sequences with drafts recompute without a wrong token",
          "[serving][model][speculative]") {
  check_drafts_change_nothing("cpu", 30);
}

// A draft model: stories260K drafting for itself proposes exactly what the model picks, so every
// greedy draft is accepted; the tokens are still those without drafts.
TEST_CASE("serving speculation: a draft model's drafts, one drafter per table row (cpu)",
          "[serving][model][speculative]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  const auto draft = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_parallel = 3;
  options.n_ctx = 96;
  options.block_size = 4;
  constexpr int64_t max_tokens = 40;
  const std::vector<serving::Request> requests = requests_for(*model, max_tokens);
  auto plain = serving::Engine::create(*model, *backend, options);
  const std::vector<std::vector<int32_t>> expected = run_together(*plain, requests);

  options.speculative.draft_max = 5;
  options.draft_model = draft.get();
  auto engine = serving::Engine::create(*model, *backend, options);
  const std::vector<std::vector<int32_t>> got = run_together(*engine, requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    INFO("request " << i);
    CHECK(got[i] == expected[i]);
  }
  const serving::EngineMetrics m = engine->metrics();
  CHECK(m.draft_tokens_total > 0);
  CHECK(m.draft_tokens_accepted_total == m.draft_tokens_total);
  CHECK(m.kv_blocks_used == 0);
}

TEST_CASE("serving speculation: requests and engines that cannot speculate are refused by name",
          "[serving][model][speculative]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_ctx = 64;
  options.speculative.draft_max = 4;
  auto engine = serving::Engine::create(*model, *backend, options);
  test::Collector c;
  serving::Request r = test::greedy_request(test::story_prompts(*model)[0], 4);
  r.draft_max = 5;
  CHECK_THROWS_WITH(
      engine->submit(r, c.on_token(), c.on_done()),
      Catch::Matchers::ContainsSubstring("asks for 5 drafted tokens per step; this server verifies at most 4"));
  r.draft_max = 0;  // off for this request: plain decoding
  engine->submit(r, c.on_token(), c.on_done());
  CHECK(test::wait(c).reason == serving::FinishReason::length);
  CHECK(engine->metrics().draft_tokens_total == 0);

  options.kind = serving::EngineKind::session;
  CHECK_THROWS_WITH(serving::Engine::create(*model, *backend, options),
                    Catch::Matchers::ContainsSubstring("served by the batched engine (--engine batched)"));
  options.speculative.draft_max = 65;
  options.kind = serving::EngineKind::batched;
  CHECK_THROWS_WITH(serving::Engine::create(*model, *backend, options), "--draft-max must be in [0, 64] (got 65)");
  options.speculative.draft_max = 0;
  options.draft_model = model.get();
  CHECK_THROWS_WITH(serving::Engine::create(*model, *backend, options), "a draft model needs --draft-max >= 1");
}
