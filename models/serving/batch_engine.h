#pragma once
// The batched serving engine: continuous batching over a paged KV cache. One thread runs steps;
// each step evaluates the next token of every generating sequence and chunks of prompts in one
// batched graph (scheduler.h decides who runs, step_plans.h holds the prepared graphs), then
// samples every sequence whose chunk reached its last token. Sequences join and leave between
// steps; their KV memory is blocks of a shared pool (block_pool.h), shared between sequences
// with the same prefix.
//
// Batch invariance: with temperature 0 a request's tokens are exactly those it gets alone,
// whatever runs beside it: every step runs the same kernels whatever its size (step_plans.h),
// and each token's arithmetic in them depends on that token's own data only (paged_attention
// reads a query's own blocks in a fixed order; the matrix kernels compute each (row, token) the
// same way wherever it sits in a tile). docs/serving.md states the guarantee and its limits.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "models/arch/kv_storage.h"
#include "models/embedding.h"
#include "models/serving/block_pool.h"
#include "models/serving/engine.h"
#include "models/serving/engine_support.h"
#include "models/serving/scheduler.h"
#include "models/serving/step_plans.h"
#include "models/speculative/ngram_drafter.h"

namespace vkgraph::serving {

class BatchEngine final : public Engine {
 public:
  // Prepares every step bucket before it returns (the warm-up), so the first request waits on
  // nothing but its own steps.
  BatchEngine(const models::Model& model, Backend& backend, const EngineOptions& options);
  ~BatchEngine() override;  // cancels what is left (on_done(cancelled)) and joins the thread

  RequestId submit(Request request, OnToken on_token, OnDone on_done) override;
  void cancel(RequestId id) override;
  std::vector<float> embed(std::span<const int32_t> tokens, std::optional<models::Pooling> pooling) override;
  EngineMetrics metrics() const override;
  int64_t n_ctx() const override { return n_ctx_; }
  const std::vector<models::AdapterUse>& adapters() const override { return options_.adapters; }  // always empty
  int32_t draft_max() const override { return options_.speculative.draft_max; }
  void drain() override;

  // The prepared step executables (constant after the warm-up) and how long the warm-up took.
  size_t prepared_steps() const;
  double warm_up_seconds() const { return warm_up_seconds_; }
  int64_t block_size() const { return block_size_; }
  int64_t kv_blocks() const { return pool_.n_blocks(); }

 private:
  using Clock = std::chrono::steady_clock;

  struct Incoming {
    RequestId id = 0;
    Request request;
    OnToken on_token;
    OnDone on_done;
    Clock::time_point submitted;
  };
  // A request the scheduler knows (waiting or running).
  struct Live {
    Incoming in;
    std::optional<models::Sampler> sampler;
    int64_t generated = 0;
    bool started = false;  // admitted at least once
    Completion completion;
    models::SpeculativeParams speculative;  // the request's, or the engine's; draft_max 0: none
    models::Draft draft;                    // drafted tokens behind the newest one, verified next step
  };

  void run_loop();
  // One step: schedule, run, sample. Returns false when nothing could run.
  bool step();
  // The next token(s) of a sequence from its logits rows: one row samples a token; with a
  // draft, its k + 1 rows verify it (models/speculative/verification.h) and roll the rejected
  // drafts back. Returns the reason when it finished; otherwise the next token is appended and,
  // when the request speculates, the next draft behind it.
  std::optional<FinishReason> advance(Live& live, std::span<const float> rows);
  // Hands one generated token to the request; the reason when that ends it.
  std::optional<FinishReason> deliver(Live& live, int32_t token);
  void propose_draft(Live& live);
  std::span<const int32_t> banned_tokens(const Live& live) const;  // never drawn: ignore_eos's
  void make_row_drafters();
  void finish(RequestId id, FinishReason reason, std::string error = {});
  void finish_incoming(Incoming& in, FinishReason reason);
  void publish_gauges();

  const models::Model& model_;
  Backend& backend_;
  EngineOptions options_;
  int64_t n_ctx_ = 0;
  int64_t block_size_ = 0;

  // The device: steps and embeddings take turns under this.
  std::mutex device_mutex_;
  std::unique_ptr<models::Embedder> embedder_;  // made on the first embed()

  // Owned by the engine thread.
  models::KvStorage kv_;
  BlockPool pool_;
  Scheduler scheduler_;
  StepPlans plans_;
  StepInputs inputs_;
  std::map<RequestId, Live> live_;
  int32_t trash_block_ = 0;
  double warm_up_seconds_ = 0;
  models::NgramDrafter drafter_;
  std::vector<std::unique_ptr<models::Drafter>> row_drafters_;  // with a draft model: one per table row
  std::vector<int32_t> end_of_generation_;                      // never drawn under ignore_eos

  mutable std::mutex mutex_;         // everything below
  std::condition_variable work_cv_;  // new work, a cancel, or stopping
  std::condition_variable idle_cv_;  // a request ended
  std::deque<Incoming> incoming_;    // submitted, not yet handed to the scheduler
  std::unordered_set<RequestId> cancel_requests_;
  int64_t waiting_ = 0;      // in the scheduler's queue (the engine thread updates it)
  int64_t running_ = 0;      // running in the scheduler
  int64_t live_count_ = 0;   // requests handed to the scheduler and not finished
  int64_t blocks_held_ = 0;  // the pool's gauges after the last step
  int64_t blocks_available_ = 0;
  int64_t callbacks_pending_ = 0;  // ended requests whose on_done has not returned yet
  FinishedRequests finished_;      // for Retry-After
  RequestId next_id_ = 1;
  bool draining_ = false;
  bool stopping_ = false;
  EngineMetrics counters_;

  std::thread thread_;
};

}  // namespace vkgraph::serving
