// The session serving engine (models/serving/session_engine.h): requests interleaved over a few
// sessions give exactly what each gives alone, cancellation and the queue limit free what they
// should, drain finishes everything, and the metrics return to zero.

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
#include "models/embedding.h"
#include "models/generation.h"
#include "models/model.h"
#include "models/serving/engine.h"
#include "models/session.h"
#include "models/tokenizer/tokenizer.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

models::SamplerParams greedy() {
  models::SamplerParams p;
  p.temperature = 0;
  return p;
}

// A request's tokens and its completion, filled in by the engine's callbacks.
struct Collector {
  std::mutex mutex;
  std::vector<int32_t> tokens;
  std::promise<serving::Completion> done;
  int64_t stop_after = -1;  // on_token returns false once this many tokens came
  // When valid, the first token waits for it: the engine's thread stops there, which holds the
  // engine still while a test looks at its queue.
  std::shared_future<void> gate;

  serving::OnToken on_token() {
    return [this](int32_t t) {
      if (gate.valid()) gate.wait();
      std::lock_guard lock(mutex);
      tokens.push_back(t);
      return stop_after < 0 || int64_t(tokens.size()) < stop_after;
    };
  }
  serving::OnDone on_done() {
    return [this](const serving::Completion& c) { done.set_value(c); };
  }
};

serving::Completion wait(Collector& c) {
  auto f = c.done.get_future();
  // Generous: a few dozen tokens of a 260K-parameter model take milliseconds; a hang fails here.
  REQUIRE(f.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  return f.get();
}

// What greedy generation gives for `prompt` alone in a fresh session (the reference).
std::vector<int32_t> alone(const models::Model& model, Backend& backend, const std::vector<int32_t>& prompt,
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

std::vector<std::vector<int32_t>> prompts(const models::Model& model) {
  const Tokenizer& tok = model.tokenizer();
  std::vector<std::vector<int32_t>> out;
  for (const char* text :
       {"Once upon a time", "The dog", "Lily and Tom went to the park. They saw a big",
        "One day, a little girl named Sue", "The sun was", "Tim had a red ball. He liked to", "A bird", "Mom said"}) {
    out.push_back(tok.encode(text, tok.add_bos(), true));
  }
  return out;
}

void check_interleaved_equals_alone(const std::string& backend_name) {
  test::ValidationGuard guard;
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_parallel = 3;
  options.n_ctx = 128;
  options.prefill_chunk = 4;  // prompts of up to 13 tokens take several rounds beside decoding ones
  auto engine = serving::Engine::create(*model, *backend, options);

  const auto ps = prompts(*model);
  constexpr int64_t max_tokens = 24;
  std::vector<std::unique_ptr<Collector>> collectors;
  for (const auto& p : ps) {
    collectors.push_back(std::make_unique<Collector>());
    serving::Request r;
    r.prompt = p;
    r.max_tokens = max_tokens;
    r.sampling = greedy();
    engine->submit(r, collectors.back()->on_token(), collectors.back()->on_done());
  }
  for (size_t i = 0; i < ps.size(); ++i) {
    const serving::Completion c = wait(*collectors[i]);
    const std::vector<int32_t> expected = alone(*model, *backend, ps[i], max_tokens, 128);
    INFO("request " << i);
    CHECK(collectors[i]->tokens == expected);
    CHECK(c.prompt_tokens == int64_t(ps[i].size()));
    CHECK(c.generated_tokens == int64_t(expected.size()));
    CHECK((c.reason ==
           (int64_t(expected.size()) == max_tokens ? serving::FinishReason::length : serving::FinishReason::eog)));
    CHECK(c.first_token_seconds > 0);
    CHECK(c.total_seconds >= c.first_token_seconds);
  }
  const serving::EngineMetrics m = engine->metrics();
  CHECK(m.running_sequences == 0);
  CHECK(m.queue_depth == 0);
  CHECK(m.kv_blocks_used == 0);
  CHECK(m.kv_blocks_free == 3);
  CHECK(m.requests_total == ps.size());
  uint64_t prompt_total = 0;
  for (const auto& p : ps) prompt_total += p.size();
  CHECK(m.prompt_tokens_total == prompt_total);
  CHECK(m.step_seconds.count > 0);
  CHECK(m.batch_tokens.count == m.step_seconds.count);
}

}  // namespace

TEST_CASE("serving engine: interleaved requests give what each gives alone (cpu)", "[serving][model]") {
  check_interleaved_equals_alone("cpu");
}

TEST_CASE("serving engine: interleaved requests give what each gives alone (vulkan)", "[serving][model][vulkan]") {
  check_interleaved_equals_alone("vulkan");
}

TEST_CASE("serving engine: cancel, stop from the callback, queue limit, drain", "[serving][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_parallel = 1;
  options.n_ctx = 256;
  options.max_queue = 1;
  auto engine = serving::Engine::create(*model, *backend, options);
  const auto ps = prompts(*model);

  serving::Request long_request;
  long_request.prompt = ps[0];
  long_request.max_tokens = 200;
  long_request.ignore_eos = true;
  long_request.sampling = greedy();

  // A: stops itself after 5 tokens (a matched stop string, a client gone), but only once the
  // gate opens, so it is still running or waiting while B and C come.
  Collector a, b, c;
  a.stop_after = 5;
  std::promise<void> open_gate;
  a.gate = open_gate.get_future().share();
  engine->submit(long_request, a.on_token(), a.on_done());
  // B waits behind A; C finds the queue full (one slot running or about to, one waiting).
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

TEST_CASE("serving engine: the destructor cancels what is left", "[serving][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  serving::EngineOptions options;
  options.n_parallel = 1;
  options.n_ctx = 512;
  Collector a, b;
  {
    auto engine = serving::Engine::create(*model, *backend, options);
    serving::Request r;
    r.prompt = prompts(*model)[0];
    r.max_tokens = 400;
    r.ignore_eos = true;
    engine->submit(r, a.on_token(), a.on_done());
    engine->submit(r, b.on_token(), b.on_done());
  }
  CHECK(wait(a).reason != serving::FinishReason::error);
  CHECK(wait(b).reason == serving::FinishReason::cancelled);
}
