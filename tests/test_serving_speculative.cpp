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
#include "models/arch/kv_storage.h"
#include "models/bundled/default_model.h"
#include "models/model.h"
#include "models/serving/block_pool.h"
#include "models/serving/engine.h"
#include "models/serving/scheduler.h"
#include "models/serving/step_inputs.h"
#include "models/serving/step_plans.h"
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

// One sequence's paged cache and its prepared steps, as the batched engine drives them.
struct PagedSequence {
  static constexpr int64_t kBlocks = 16, kBlockSize = 4;
  models::KvStorage kv;
  serving::BlockPool pool{kBlocks, kBlockSize};
  serving::Scheduler scheduler{pool, {.max_running = 1, .step_tokens = 16, .chunk_tokens = 16, .n_ctx = 48}};
  serving::StepPlans plans;
  serving::StepInputs inputs;
  int64_t n_vocab;

  PagedSequence(const models::Model& model, Backend& backend)
      : kv(models::allocate_kv(model.hparams(), backend, (kBlocks + 1) * kBlockSize)),
        plans(model, backend, kv, kBlockSize, 1, scheduler.max_blocks(), 16, 8),
        n_vocab(model.hparams().n_vocab) {}

  // Runs the next step; returns its logit rows (one per wanted output).
  std::vector<float> step() {
    const serving::StepPlan plan = scheduler.schedule();
    const serving::StepLayout layout = plans.layout(plan.tokens, int32_t(kBlocks));
    serving::build_step_inputs(scheduler, plan, layout, inputs);
    const std::vector<float>& all = plans.run(layout, inputs);
    scheduler.commit(plan);
    return {all.begin(), all.begin() + std::ptrdiff_t(inputs.output_ids.size() * size_t(n_vocab))};
  }
};

// The rollback oracle of issue 22 for the paged cache: after a rejected draft, the next step's
// logits equal, bit for bit, those of a sequence that never saw the rejected tokens. Any key or
// value of a rejected position left readable, a position not set back, or a block published
// with a draft in it would change them.
void check_paged_rollback(const std::string& backend_name) {
  test::ValidationGuard guard;
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  const Tokenizer& tok = model->tokenizer();
  const std::vector<int32_t> prompt = tok.encode("Once upon a time, there was a", tok.add_bos(), true);
  const int32_t x = 300, kept = 301, y = 302;
  const std::vector<int32_t> drafts{kept, 402, 403, 404, 405, 406};  // positions cross two blocks

  PagedSequence speculated(*model, *backend);
  speculated.scheduler.enqueue(1, prompt);
  speculated.step();
  speculated.scheduler.append(1, x);
  speculated.scheduler.append_draft(1, drafts);
  CHECK(speculated.step().size() == (1 + drafts.size()) * size_t(speculated.n_vocab));
  speculated.scheduler.resolve_draft(1, 1);  // `kept` accepted, the rest rejected
  speculated.scheduler.append(1, y);
  const std::vector<float> after_rollback = speculated.step();

  PagedSequence never(*model, *backend);
  never.scheduler.enqueue(1, prompt);
  never.step();
  for (int32_t t : {x, kept, y}) {
    never.scheduler.append(1, t);
    const std::vector<float> logits = never.step();
    if (t == y) {
      REQUIRE(logits.size() == after_rollback.size());
      CHECK(logits == after_rollback);  // exact: the same kernels on the same cache content
    }
  }
  CHECK(speculated.pool.held_count() == never.pool.held_count());
}

}  // namespace

TEST_CASE("serving speculation: after a rejected draft the paged cache is one that never saw it (cpu)",
          "[serving][model][speculative]") {
  check_paged_rollback("cpu");
}

TEST_CASE("serving speculation: after a rejected draft the paged cache is one that never saw it (vulkan)",
          "[serving][model][speculative][vulkan]") {
  check_paged_rollback("vulkan");
}

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
