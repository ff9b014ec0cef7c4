#include "models/serving/engine_support.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/log.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::serving {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

Histogram step_histogram() { return Histogram{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}; }
Histogram batch_histogram() { return Histogram{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}; }

int64_t resolve_n_ctx(const models::Hparams& hp, int64_t requested) {
  if (requested > 0) return requested;
  return std::min<int64_t>(hp.n_ctx_train > 0 ? hp.n_ctx_train : 4096, 4096);
}

void check_engine_options(const EngineOptions& o) {
  VKGRAPH_CHECK(o.n_parallel >= 1 && o.n_parallel <= 1024, "--parallel must be in [1, 1024] (got {})", o.n_parallel);
  VKGRAPH_CHECK(o.n_ctx >= 0 && o.n_ctx <= (int64_t(1) << 24), "--ctx-size must be in [0, 16777216] (got {})", o.n_ctx);
  VKGRAPH_CHECK(o.max_queue >= 0, "the queue limit must be >= 0 (got {})", o.max_queue);
  VKGRAPH_CHECK(o.prefill_chunk >= 1, "the prefill chunk must be >= 1 token (got {})", o.prefill_chunk);
  VKGRAPH_CHECK(o.speculative.draft_max >= 0 && o.speculative.draft_max <= 64,
                "--draft-max must be in [0, 64] (got {})", o.speculative.draft_max);
  VKGRAPH_CHECK(o.speculative.draft_min >= 0, "--draft-min must be >= 0 (got {})", o.speculative.draft_min);
  VKGRAPH_CHECK(o.ngram.min_match >= 1, "--draft-ngram-min must be >= 1 (got {})", o.ngram.min_match);
}

void check_request(const Request& request, const OnToken& on_token, const OnDone& on_done, const models::Model& model,
                   int64_t n_ctx) {
  const auto n = int64_t(request.prompt.size());
  VKGRAPH_CHECK(n > 0, "the prompt is empty (no tokens)");
  VKGRAPH_CHECK(n <= n_ctx, "the prompt is {} tokens long but the context holds {}", n, n_ctx);
  VKGRAPH_CHECK(request.max_tokens > 0, "max_tokens must be > 0 (got {})", request.max_tokens);
  const int64_t n_vocab = model.hparams().n_vocab;
  for (int32_t id : request.prompt) {
    VKGRAPH_CHECK(id >= 0 && id < n_vocab, "token id {} is outside the vocabulary of {}", id, n_vocab);
  }
  const models::SamplerParams& sp = request.sampling;
  VKGRAPH_CHECK(std::isfinite(sp.temperature) && sp.temperature >= 0, "temperature must be >= 0 (got {})",
                sp.temperature);
  VKGRAPH_CHECK(sp.top_p > 0 && sp.top_p <= 1, "top_p must be in (0, 1] (got {})", sp.top_p);
  VKGRAPH_CHECK(on_token && on_done, "internal: a request needs both callbacks");
}

void check_queue_room(int64_t queued, int64_t running, const EngineOptions& options, const FinishedRequests& finished) {
  const int64_t free_places = std::max<int64_t>(options.n_parallel - running, 0);
  if (queued < options.max_queue + free_places) return;
  // A place frees when a running request ends: about the mean request time per round of
  // n_parallel requests ahead in the queue.
  const double mean = finished.count > 0 ? finished.seconds / double(finished.count) : 1.0;
  const double rounds = std::ceil(double(queued + 1) / double(options.n_parallel));
  throw QueueFull(fmt::format("the queue is full ({} requests waiting, {} running)", queued, running),
                  std::max(1.0, std::ceil(mean * rounds)));
}

void forbid_end_of_generation(std::span<float> logits, const Tokenizer& tokenizer) {
  for (size_t id = 0; id < logits.size(); ++id) {
    if (tokenizer.is_eog(int32_t(id))) logits[id] = -std::numeric_limits<float>::infinity();
  }
}

Completion completion_before_start(const Request& request, std::chrono::steady_clock::time_point submitted,
                                   FinishReason reason) {
  Completion c;
  c.reason = reason;
  c.prompt_tokens = int64_t(request.prompt.size());
  c.total_seconds = seconds_since(submitted);
  c.queue_seconds = c.total_seconds;
  return c;
}

void deliver_completion(const OnDone& on_done, const Completion& completion, RequestId id) {
  try {
    on_done(completion);
  } catch (const std::exception& e) {
    log::warn("serving: the completion callback of request {} failed: {}", id, e.what());
  }
}

}  // namespace vkgraph::serving
