// The batched serving engine (models/serving/batch_engine.h): requests running together give
// exactly what each gives alone (batch invariance, 32 at once), a shared prefix is prefilled
// once, a cache too small for everyone preempts and recomputes without a wrong token,
// cancellation and the queue limit free what they should, drain finishes everything, the
// metrics return to zero, and no step prepares anything after the warm-up. The session engine
// (`--engine session`) is held to the same request semantics and to the same tokens.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "models/bundled/default_model.h"
#include "models/generation.h"
#include "models/logits_dump.h"
#include "models/model.h"
#include "models/serving/batch_engine.h"
#include "models/serving/engine.h"
#include "models/session.h"
#include "models/synth/synth_model.h"
#include "models/tokenizer/tokenizer.h"
#include "tests/serving_requests.h"
#include "tests/shared_files.h"
#include "tests/temp_dir.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using test::check_together_equals_alone;
using test::Collector;
using test::greedy;
using test::greedy_request;
using test::story_prompts;
using test::wait;

namespace {

// What greedy generation gives for `prompt` in a fresh session: the independent reference on
// the CPU backend, where the paged step computes exactly the session's sums.
std::vector<int32_t> session_alone(const models::Model& model, Backend& backend, const std::vector<int32_t>& prompt,
                                   int64_t max_tokens, int64_t n_ctx) {
  models::SessionOptions options;
  options.n_ctx = n_ctx;
  models::Session session(model, backend, options);
  models::Sampler sampler(greedy());
  std::vector<int32_t> history = prompt;
  models::GenerateOptions g;
  g.max_tokens = max_tokens;
  return models::generate(session, session.eval(prompt), sampler, history, g, [](const std::string&) {}).tokens;
}

void check_interleaved_equals_alone(const std::string& backend_name) {
  test::ValidationGuard guard;
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_parallel = 3;
  options.n_ctx = 128;
  options.prefill_chunk = 4;  // prompts of up to 13 tokens take several steps beside generating ones
  options.step_tokens = 8;
  auto engine = serving::Engine::create(*model, *backend, options);

  const auto ps = story_prompts(*model);
  constexpr int64_t max_tokens = 24;
  std::vector<serving::Request> requests;
  for (const auto& p : ps) requests.push_back(greedy_request(p, max_tokens));
  const std::vector<serving::Completion> done = check_together_equals_alone(*engine, requests);
  for (size_t i = 0; i < ps.size(); ++i) {
    INFO("request " << i);
    const serving::Completion& c = done[i];
    CHECK(c.prompt_tokens == int64_t(ps[i].size()));
    CHECK(c.first_token_seconds > 0);
    CHECK(c.total_seconds >= c.first_token_seconds);
  }
  const serving::EngineMetrics m = engine->metrics();
  CHECK(m.running_sequences == 0);
  CHECK(m.queue_depth == 0);
  CHECK(m.kv_blocks_used == 0);
  CHECK(m.kv_blocks_free == 3 * (128 / 16));
  CHECK(m.requests_total == 2 * ps.size());
  CHECK(m.step_seconds.count > 0);
  CHECK(m.batch_tokens.count == m.step_seconds.count);
  CHECK(m.batch_tokens.sum <= 8.0 * double(m.batch_tokens.count));  // the step budget
}

}  // namespace

TEST_CASE("serving engine: interleaved requests give what each gives alone (cpu)", "[serving][model]") {
  check_interleaved_equals_alone("cpu");
  // And what a session gives, token for token.
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_parallel = 4;
  options.n_ctx = 128;
  auto engine = serving::Engine::create(*model, *backend, options);
  const auto ps = story_prompts(*model);
  std::vector<std::unique_ptr<Collector>> cs;
  for (const auto& p : ps) {
    cs.push_back(std::make_unique<Collector>());
    engine->submit(greedy_request(p, 24), cs.back()->on_token(), cs.back()->on_done());
  }
  for (size_t i = 0; i < ps.size(); ++i) {
    wait(*cs[i]);
    INFO("request " << i);
    CHECK(cs[i]->tokens == session_alone(*model, *backend, ps[i], 24, 128));
  }
}

TEST_CASE("serving engine: interleaved requests give what each gives alone (vulkan)", "[serving][model][vulkan]") {
  check_interleaved_equals_alone("vulkan");
}

// Batch invariance at scale: 32 requests of different lengths on a quantized model with GQA,
// and on a sliding-window model, each alone and then all at once with chunked prompts mixed
// into generating steps. Any kernel whose per-token result depended on its neighbours
// (another tile, another split of the cache, another kernel for another step size) would show
// here as a different token in some request.
void check_batch_invariance(const std::string& backend_name) {
  test::ValidationGuard guard;
  testing::TempDir dir;
  auto backend = create_backend(backend_name, "");
  for (const auto& [preset, type] : {std::pair{"test-llama", DType::Q4_0}, std::pair{"test-mistral", DType::Q8_0}}) {
    DYNAMIC_SECTION(preset << " " << dtype_name(type)) {
      models::SynthOptions synth;
      synth.weights = dtype_name(type);
      const std::string path = dir.file(std::string(preset) + ".gguf");
      models::write_synthetic_model(models::find_preset(preset), synth, path);
      const auto model = models::Model::load(path, *backend);
      serving::EngineOptions options;
      options.n_parallel = 32;
      options.n_ctx = 96;
      options.step_tokens = 64;  // prompts arrive in chunks beside generating sequences
      options.prefill_chunk = 24;
      options.block_size = 16;
      auto engine = serving::Engine::create(*model, *backend, options);
      std::vector<serving::Request> requests;
      for (int32_t i = 0; i < 32; ++i) {
        std::vector<int32_t> prompt{1};
        for (int32_t t = 0; t < 3 + (i * 7) % 40; ++t) prompt.push_back(2 + (i * 31 + t * 17) % 500);
        serving::Request r = greedy_request(prompt, 8 + (i * 5) % 17);
        r.ignore_eos = true;
        requests.push_back(r);
      }
      check_together_equals_alone(*engine, requests);
      const serving::EngineMetrics m = engine->metrics();
      CHECK(m.kv_blocks_used == 0);
      CHECK(m.running_sequences == 0);
    }
  }
}

TEST_CASE("serving engine: 32 requests at once give what each gives alone (cpu)", "[serving][model]") {
  check_batch_invariance("cpu");
}

TEST_CASE("serving engine: 32 requests at once give what each gives alone (vulkan)", "[serving][model][vulkan]") {
  check_batch_invariance("vulkan");
}

TEST_CASE("serving engine: a shared 1000-token prefix is prefilled once", "[serving][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_parallel = 2;
  options.n_ctx = 1100;
  auto engine = serving::Engine::create(*model, *backend, options);
  const Tokenizer& tok = model->tokenizer();
  std::vector<int32_t> system = tok.encode("Once upon a time", tok.add_bos(), true);
  while (system.size() < 1000) system.push_back(int32_t(2 + system.size() * 7 % 400));
  std::vector<int32_t> a = system, b = system;
  for (int32_t t : tok.encode(" The dog ran.", false, true)) a.push_back(t);
  for (int32_t t : tok.encode(" A bird sang", false, true)) b.push_back(t);

  Collector first, second, again;
  engine->submit(greedy_request(a, 16), first.on_token(), first.on_done());
  const serving::Completion ca = wait(first);
  CHECK(ca.cached_prompt_tokens == 0);
  engine->submit(greedy_request(b, 16), second.on_token(), second.on_done());
  const serving::Completion cb = wait(second);
  // The system prompt's full blocks (62 of 16 tokens: 992 tokens) come from the cache; only
  // the rest of b is evaluated.
  CHECK(cb.cached_prompt_tokens == 992);
  serving::EngineMetrics m = engine->metrics();
  CHECK(m.prefix_cache_hit_tokens_total == 992);
  CHECK(m.prompt_tokens_total == a.size() + b.size() - 992);
  // What b gives with its prefix from the cache is what it gives computed from scratch: an
  // engine that has never seen the system prompt.
  auto fresh = serving::Engine::create(*model, *backend, options);
  fresh->submit(greedy_request(b, 16), again.on_token(), again.on_done());
  CHECK(wait(again).cached_prompt_tokens == 0);
  CHECK(second.tokens == again.tokens);
  CHECK(engine->metrics().kv_blocks_used == 0);
}

TEST_CASE("serving engine: a cache too small for everyone preempts and recomputes, never a wrong token",
          "[serving][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_parallel = 6;
  options.n_ctx = 64;
  options.block_size = 4;
  options.kv_blocks = 16;  // one context: six sequences of 40-50 tokens cannot all stay
  auto engine = serving::Engine::create(*model, *backend, options);
  std::vector<serving::Request> requests;
  for (const auto& p : story_prompts(*model)) {
    serving::Request r = greedy_request(p, 36);
    r.ignore_eos = true;
    requests.push_back(r);
  }
  check_together_equals_alone(*engine, requests);
  const serving::EngineMetrics m = engine->metrics();
  CHECK(m.preemptions_total > 0);
  CHECK(m.kv_blocks_used == 0);
  CHECK(m.kv_blocks_free == 16);
  CHECK(m.running_sequences == 0);
  CHECK(m.queue_depth == 0);
}

TEST_CASE("serving engine: every step is prepared at start, none after", "[serving][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_parallel = 4;
  options.n_ctx = 256;
  options.step_tokens = 64;
  serving::BatchEngine engine(*model, *backend, options);
  CHECK(engine.prepared_steps() == serving::step_buckets(64).size());
  CHECK(engine.warm_up_seconds() > 0);
  std::vector<std::unique_ptr<Collector>> cs;
  for (const auto& p : story_prompts(*model)) {
    std::vector<int32_t> longer = p;
    longer.resize(100, 7);  // prompt chunks fill the larger buckets
    cs.push_back(std::make_unique<Collector>());
    engine.submit(greedy_request(longer, 10), cs.back()->on_token(), cs.back()->on_done());
  }
  for (auto& c : cs) wait(*c);
  CHECK(engine.prepared_steps() == serving::step_buckets(64).size());
}

// Both engines (the batched default and the session engine of `--engine session`) keep the same
// request semantics: engine.h's contract, checked on each.
void check_cancel_queue_drain(serving::EngineKind kind) {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.kind = kind;
  options.n_parallel = 1;
  options.n_ctx = 256;
  options.max_queue = 1;
  auto engine = serving::Engine::create(*model, *backend, options);
  const auto ps = story_prompts(*model);

  serving::Request long_request = greedy_request(ps[0], 200);
  long_request.ignore_eos = true;

  // A: stops itself after 5 tokens (a matched stop string, a client gone), but only once the
  // gate opens, so it is still running or waiting while B and C come.
  Collector a, b, c;
  a.stop_after = 5;
  std::promise<void> open_gate;
  a.gate = open_gate.get_future().share();
  engine->submit(long_request, a.on_token(), a.on_done());
  // B waits behind A; C finds the queue full (one running or about to, one waiting).
  const serving::RequestId b_id = engine->submit(long_request, b.on_token(), b.on_done());
  CHECK_THROWS_AS(engine->submit(long_request, c.on_token(), c.on_done()), serving::QueueFull);
  try {
    engine->submit(long_request, c.on_token(), c.on_done());
  } catch (const serving::QueueFull& e) {
    CHECK(e.retry_after_seconds >= 1);
  }
  engine->cancel(b_id);
  open_gate.set_value();

  const serving::Completion ca = wait(a);
  CHECK(ca.reason == serving::FinishReason::cancelled);
  CHECK(ca.generated_tokens == 5);
  CHECK(a.tokens.size() == 5);
  const serving::Completion cb = wait(b);
  CHECK(cb.reason == serving::FinishReason::cancelled);
  CHECK(cb.generated_tokens <= 200);

  // The context limit: a prompt of 256 tokens fits, one more does not.
  serving::Request too_long = long_request;
  too_long.prompt.assign(257, 1);
  CHECK_THROWS_WITH(engine->submit(too_long, c.on_token(), c.on_done()),
                    "the prompt is 257 tokens long but the context holds 256");
  serving::Request bad_token = long_request;
  bad_token.prompt = {1, int32_t(model->hparams().n_vocab)};
  CHECK_THROWS_WITH(engine->submit(bad_token, c.on_token(), c.on_done()),
                    "token id 512 is outside the vocabulary of 512");

  // Context full: 250 prompt tokens leave room for 6 more evaluated tokens, then the 7th is the last.
  Collector d;
  serving::Request filling = long_request;
  filling.prompt.assign(250, 1);
  engine->submit(filling, d.on_token(), d.on_done());
  const serving::Completion cd = wait(d);
  CHECK(cd.reason == serving::FinishReason::context_full);
  CHECK(cd.generated_tokens == 7);

  // Drain: queued and running requests finish, then nothing more is taken.
  Collector e, f;
  serving::Request short_request = long_request;
  short_request.max_tokens = 20;
  engine->submit(short_request, e.on_token(), e.on_done());
  engine->submit(short_request, f.on_token(), f.on_done());
  engine->drain();
  CHECK(e.tokens.size() == 20);
  CHECK(f.tokens.size() == 20);
  CHECK_THROWS_AS(engine->submit(short_request, c.on_token(), c.on_done()), serving::ShuttingDown);
  const serving::EngineMetrics m = engine->metrics();
  CHECK(m.running_sequences == 0);
  CHECK(m.queue_depth == 0);
  CHECK(m.kv_blocks_used == 0);
}

TEST_CASE("serving engine: cancel, stop from the callback, queue limit, drain", "[serving][model]") {
  for (serving::EngineKind kind : {serving::EngineKind::batched, serving::EngineKind::session}) {
    DYNAMIC_SECTION(serving::engine_kind_name(kind)) { check_cancel_queue_drain(kind); }
  }
}

// The two engines against each other: eight requests at once through three rows, greedy. The
// session engine evaluates each sequence alone with Session's kernels, the batched one mixes them
// in paged steps; on the CPU backend both compute the same sums, so every token must agree.
TEST_CASE("serving engine: the batched and the session engine give the same tokens (cpu)", "[serving][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  const auto ps = story_prompts(*model);
  std::vector<std::vector<int32_t>> tokens[2];
  for (serving::EngineKind kind : {serving::EngineKind::batched, serving::EngineKind::session}) {
    serving::EngineOptions options;
    options.kind = kind;
    options.n_parallel = 3;
    options.n_ctx = 128;
    options.prefill_chunk = 4;
    auto engine = serving::Engine::create(*model, *backend, options);
    std::vector<std::unique_ptr<Collector>> cs;
    for (const auto& p : ps) {
      cs.push_back(std::make_unique<Collector>());
      engine->submit(greedy_request(p, 24), cs.back()->on_token(), cs.back()->on_done());
    }
    for (auto& c : cs) {
      CHECK(wait(*c).reason != serving::FinishReason::error);
      tokens[int(kind)].push_back(c->tokens);
    }
    CHECK(engine->metrics().running_sequences == 0);
  }
  for (size_t i = 0; i < ps.size(); ++i) {
    INFO("request " << i);
    CHECK(!tokens[0][i].empty());
    CHECK(tokens[0][i] == tokens[1][i]);
  }
}

// Gemma 2 in paged steps: per-layer windows (16, on every other layer), soft-capped scores and
// the local layers' own rotation, through paged_attention with prompts that cross the window and
// generations that go further. Greedy tokens of three requests at once must be the ones a plain
// session gives each alone (on the CPU backend both compute the same sums, as above): a key
// outside a window that the paged cache let through, or a missing cap, changes them.
TEST_CASE("serving engine: Gemma 2's windows and soft-caps in paged steps give a session's tokens (cpu)",
          "[serving][model][window]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(testing::shared_file("models/tiny-gemma2-f16.gguf"), *backend);
  const std::vector<int32_t> text =
      models::read_logits_json(testing::shared_file("reference/logits/tiny-gemma2-f16.json")).tokens;
  REQUIRE(text.size() >= 37);
  const std::vector<std::vector<int32_t>> prompts = {
      text, {text.begin(), text.begin() + 20}, {text.begin() + 5, text.end()}};
  serving::EngineOptions options;
  options.n_parallel = 3;
  options.n_ctx = 128;
  options.prefill_chunk = 8;
  serving::BatchEngine engine(*model, *backend, options);
  std::vector<std::unique_ptr<Collector>> cs;
  for (const auto& p : prompts) {
    cs.push_back(std::make_unique<Collector>());
    engine.submit(greedy_request(p, 24), cs.back()->on_token(), cs.back()->on_done());
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    INFO("request " << i);
    CHECK(wait(*cs[i]).reason != serving::FinishReason::error);
    CHECK(!cs[i]->tokens.empty());
    CHECK(cs[i]->tokens == session_alone(*model, *backend, prompts[i], 24, 128));
  }
}

TEST_CASE("serving engine: bad options are refused naming the option", "[serving][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_ctx = 256;
  options.block_size = 0;
  CHECK_THROWS_WITH(serving::Engine::create(*model, *backend, options), "--block-size must be in [1, 1024] (got 0)");
  options.block_size = 16;
  options.kv_blocks = 15;
  CHECK_THROWS_WITH(serving::Engine::create(*model, *backend, options),
                    "--kv-blocks 15 of 16 tokens cannot hold one sequence of the context (256 tokens: 16 blocks)");
}

TEST_CASE("serving engine: the destructor cancels what is left", "[serving][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_parallel = 1;
  options.n_ctx = 512;
  Collector a, b;
  {
    auto engine = serving::Engine::create(*model, *backend, options);
    serving::Request r = greedy_request(story_prompts(*model)[0], 400);
    r.ignore_eos = true;
    engine->submit(r, a.on_token(), a.on_done());
    engine->submit(r, b.on_token(), b.on_done());
  }
  CHECK(wait(a).reason != serving::FinishReason::error);
  CHECK(wait(b).reason == serving::FinishReason::cancelled);
}
