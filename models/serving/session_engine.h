#pragma once
// The session engine (`vkgraph serve --engine session`): `n_parallel` independent Sessions
// (each its own plain KV cache of n_ctx slots), one per running sequence, and a scheduler thread
// that admits waiting requests into free sessions and steps every running sequence once per
// round (a prompt chunk or one decode token each). Nothing is batched across sequences and no
// prefix is shared: the batched engine (batch_engine.h, the default) does both. This one stays
// as the simple reference the batched engine is compared with (its tokens, its speed) and as a
// fallback; it uses Session's one-token kernels, so on a GPU its logits may differ from the
// batched engine's in the last bits (docs/serving.md, Batch invariance).
//
// Cancellation, drain and metrics have the same semantics in both engines (engine.h); here
// each running sequence's cache counts as one KV block.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "models/embedding.h"
#include "models/serving/engine.h"
#include "models/serving/engine_support.h"
#include "models/session.h"

namespace vkgraph::serving {

class SessionEngine final : public Engine {
 public:
  SessionEngine(const models::Model& model, Backend& backend, const EngineOptions& options);
  ~SessionEngine() override;  // cancels what is left (on_done(cancelled)) and joins the thread

  RequestId submit(Request request, OnToken on_token, OnDone on_done) override;
  void cancel(RequestId id) override;
  std::vector<float> embed(std::span<const int32_t> tokens, std::optional<models::Pooling> pooling) override;
  EngineMetrics metrics() const override;
  int64_t n_ctx() const override { return n_ctx_; }
  const std::vector<models::AdapterUse>& adapters() const override { return options_.adapters; }
  int32_t draft_max() const override { return 0; }  // the batched engine serves speculation
  void drain() override;

 private:
  using Clock = std::chrono::steady_clock;

  struct Waiting {
    RequestId id = 0;
    Request request;
    OnToken on_token;
    OnDone on_done;
    Clock::time_point submitted;
  };

  // A request admitted into a session.
  struct Sequence {
    Waiting w;
    std::optional<models::Sampler> sampler;
    std::vector<int32_t> history;  // prompt and generated tokens, for the repetition penalty
    size_t prompt_done = 0;        // prompt tokens evaluated so far
    int32_t last_token = -1;       // the token to evaluate next (once the prompt is done)
    int64_t generated = 0;
    bool cancel_requested = false;
    Completion completion;
  };

  struct Slot {
    std::unique_ptr<models::Session> session;
    std::optional<Sequence> sequence;
  };

  void run_scheduler();
  // Under mutex_: applies cancel requests, admits waiting requests into free slots. Returns the
  // waiting requests cancelled before they ran (finished outside the lock).
  std::vector<Waiting> admit_locked();
  // One step of a running sequence; returns the reason when it finished.
  std::optional<FinishReason> step(Slot& slot, int64_t& tokens_evaluated);
  void finish(Slot& slot, FinishReason reason, std::string error = {});
  // Sets a session's adapters to a request's before its prompt runs (a no-op when they match).
  static void apply_adapters(models::Session& session, const std::vector<models::AdapterUse>& adapters);
  void finish_waiting(Waiting& w, FinishReason reason);

  const models::Model& model_;
  Backend& backend_;
  EngineOptions options_;
  int64_t n_ctx_ = 0;

  // The backend is not thread-safe: steps and embeddings take turns under this.
  std::mutex device_mutex_;
  std::unique_ptr<models::Embedder> embedder_;  // made on the first embed()

  mutable std::mutex mutex_;         // everything below
  std::condition_variable work_cv_;  // new work, a cancel, or stopping
  std::condition_variable idle_cv_;  // a request ended
  std::deque<Waiting> queue_;
  std::unordered_set<RequestId> cancel_requests_;
  std::vector<Slot> slots_;  // touched only by the scheduler thread (admit_locked runs there too)
  int64_t running_ = 0;
  int64_t callbacks_pending_ = 0;  // ended requests whose on_done has not returned yet
  FinishedRequests finished_;      // for Retry-After
  RequestId next_id_ = 1;
  bool draining_ = false;
  bool stopping_ = false;
  EngineMetrics counters_;  // totals and histograms; queue and running are filled in by metrics()

  std::thread thread_;
};

}  // namespace vkgraph::serving
