#pragma once
// Requests for the serving engines' tests (models/serving/engine.h): a Collector that gathers a
// request's tokens and completion from the engine's callbacks, greedy requests, and prompts of
// the bundled model's kind of text; and the batch-invariance check: requests together give
// what each gives alone.

#include <catch2/catch_test_macros.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include "models/model.h"
#include "models/serving/engine.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::test {

inline models::SamplerParams greedy() {
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

inline serving::Completion wait(Collector& c) {
  auto f = c.done.get_future();
  // Generous: the models here generate dozens of tokens in well under a second; a hang fails.
  REQUIRE(f.wait_for(std::chrono::seconds(120)) == std::future_status::ready);
  return f.get();
}

inline serving::Request greedy_request(std::vector<int32_t> prompt, int64_t max_tokens) {
  serving::Request r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling = greedy();
  return r;
}

inline std::vector<std::vector<int32_t>> story_prompts(const models::Model& model) {
  const Tokenizer& tok = model.tokenizer();
  std::vector<std::vector<int32_t>> out;
  for (const char* text :
       {"Once upon a time", "The dog", "Lily and Tom went to the park. They saw a big",
        "One day, a little girl named Sue", "The sun was", "Tim had a red ball. He liked to", "A bird", "Mom said"}) {
    out.push_back(tok.encode(text, tok.add_bos(), true));
  }
  return out;
}

// Each request run on its own (submitted once the previous one ended), then all at once; the
// tokens of every request must be the same both times. Returns the concurrent run's completions.
inline std::vector<serving::Completion> check_together_equals_alone(serving::Engine& engine,
                                                                    const std::vector<serving::Request>& requests) {
  std::vector<std::vector<int32_t>> alone;
  for (const serving::Request& r : requests) {
    Collector c;
    engine.submit(r, c.on_token(), c.on_done());
    const serving::Completion done = wait(c);
    REQUIRE(done.reason != serving::FinishReason::error);
    alone.push_back(c.tokens);
  }
  std::vector<std::unique_ptr<Collector>> together;
  for (const serving::Request& r : requests) {
    together.push_back(std::make_unique<Collector>());
    engine.submit(r, together.back()->on_token(), together.back()->on_done());
  }
  std::vector<serving::Completion> completions;
  for (size_t i = 0; i < requests.size(); ++i) {
    completions.push_back(wait(*together[i]));
    INFO("request " << i << " of " << requests.size());
    CHECK(completions.back().reason != serving::FinishReason::error);
    CHECK(together[i]->tokens == alone[i]);
  }
  return completions;
}

}  // namespace vkgraph::test
