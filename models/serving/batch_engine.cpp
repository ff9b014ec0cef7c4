#include "models/serving/batch_engine.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/log.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::serving {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Step time from a millisecond (a tiny model's decode on a GPU) to 10 s (a long prompt chunk on
// a CPU driver); batch sizes by powers of two up to a few prompt chunks.
Histogram step_histogram() { return Histogram{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}; }
Histogram batch_histogram() { return Histogram{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}; }

int64_t resolve_n_ctx(const models::Hparams& hp, int64_t requested) {
  if (requested > 0) return requested;
  return std::min<int64_t>(hp.n_ctx_train > 0 ? hp.n_ctx_train : 4096, 4096);
}

const EngineOptions& checked(const EngineOptions& o) {
  VKGRAPH_CHECK(o.n_parallel >= 1 && o.n_parallel <= 1024, "--parallel must be in [1, 1024] (got {})", o.n_parallel);
  VKGRAPH_CHECK(o.n_ctx >= 0 && o.n_ctx <= (int64_t(1) << 24), "--ctx-size must be in [0, 16777216] (got {})", o.n_ctx);
  VKGRAPH_CHECK(o.max_queue >= 0, "the queue limit must be >= 0 (got {})", o.max_queue);
  VKGRAPH_CHECK(o.prefill_chunk >= 1, "the prefill chunk must be >= 1 token (got {})", o.prefill_chunk);
  VKGRAPH_CHECK(o.step_tokens >= 1 && o.step_tokens <= 8192, "the step budget must be in [1, 8192] tokens (got {})",
                o.step_tokens);
  VKGRAPH_CHECK(o.block_size >= 1 && o.block_size <= 1024, "--block-size must be in [1, 1024] (got {})", o.block_size);
  VKGRAPH_CHECK(o.kv_blocks >= 0, "--kv-blocks must be >= 0 (got {})", o.kv_blocks);
  // The batched step graph has no per-sequence adapter choice yet: one batch mixes requests with
  // different adapters, so LoRA is served by the session engine (--engine session).
  VKGRAPH_CHECK(o.adapters.empty(),
                "LoRA adapters (--lora) are served by --engine session; the batched engine "
                "does not apply them");
  return o;
}

// Blocks of the pool: as asked, else enough for every running sequence's whole context (the
// memory the per-sequence caches would take; sharing and short requests leave most free).
int64_t pool_blocks(const EngineOptions& o, int64_t n_ctx) {
  const int64_t per_sequence = (n_ctx + o.block_size - 1) / o.block_size;
  if (o.kv_blocks > 0) {
    VKGRAPH_CHECK(o.kv_blocks >= per_sequence,
                  "--kv-blocks {} of {} tokens cannot hold one sequence of the context ({} tokens: {} blocks)",
                  o.kv_blocks, o.block_size, n_ctx, per_sequence);
    return o.kv_blocks;
  }
  return per_sequence * o.n_parallel;
}

SchedulerOptions scheduler_options(const EngineOptions& o, int64_t n_ctx) {
  SchedulerOptions s;
  s.max_running = o.n_parallel;
  s.step_tokens = o.step_tokens;
  s.chunk_tokens = std::min(o.prefill_chunk, o.step_tokens);
  s.n_ctx = n_ctx;
  return s;
}

}  // namespace

BatchEngine::BatchEngine(const models::Model& model, Backend& backend, const EngineOptions& options)
    : model_(model),
      backend_(backend),
      options_(checked(options)),
      n_ctx_(resolve_n_ctx(model.hparams(), options.n_ctx)),
      block_size_(options.block_size),
      // One block more than the pool: the trash block, which padding tokens write.
      kv_(models::allocate_kv(model.hparams(), backend, (pool_blocks(options, n_ctx_) + 1) * block_size_)),
      pool_(pool_blocks(options, n_ctx_), block_size_),
      scheduler_(pool_, scheduler_options(options, n_ctx_)),
      plans_(model, backend, kv_, block_size_, options.n_parallel, scheduler_.max_blocks(), options.step_tokens),
      trash_block_(int32_t(pool_blocks(options, n_ctx_))) {
  counters_.step_seconds = step_histogram();
  counters_.batch_tokens = batch_histogram();
  warm_up_seconds_ = plans_.warm_up();
  log::info("serving: {} step buckets prepared in {:.2f} s; KV cache of {} blocks of {} tokens",
            plans_.buckets().size(), warm_up_seconds_, pool_.n_blocks(), block_size_);
  publish_gauges();
  thread_ = std::thread([this] { run_loop(); });
}

BatchEngine::~BatchEngine() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    draining_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

size_t BatchEngine::prepared_steps() const { return plans_.prepared_count(); }

RequestId BatchEngine::submit(Request request, OnToken on_token, OnDone on_done) {
  const auto n = int64_t(request.prompt.size());
  VKGRAPH_CHECK(n > 0, "the prompt is empty (no tokens)");
  VKGRAPH_CHECK(n <= n_ctx_, "the prompt is {} tokens long but the context holds {}", n, n_ctx_);
  VKGRAPH_CHECK(request.max_tokens > 0, "max_tokens must be > 0 (got {})", request.max_tokens);
  VKGRAPH_CHECK(!request.adapters || request.adapters->empty(),
                "the batched engine does not apply LoRA adapters (serve them with --engine session)");
  const int64_t n_vocab = model_.hparams().n_vocab;
  for (int32_t id : request.prompt) {
    VKGRAPH_CHECK(id >= 0 && id < n_vocab, "token id {} is outside the vocabulary of {}", id, n_vocab);
  }
  const models::SamplerParams& sp = request.sampling;
  VKGRAPH_CHECK(std::isfinite(sp.temperature) && sp.temperature >= 0, "temperature must be >= 0 (got {})",
                sp.temperature);
  VKGRAPH_CHECK(sp.top_p > 0 && sp.top_p <= 1, "top_p must be in (0, 1] (got {})", sp.top_p);
  VKGRAPH_CHECK(on_token && on_done, "internal: a request needs both callbacks");

  std::unique_lock lock(mutex_);
  if (draining_) throw ShuttingDown("the server is shutting down and takes no new requests");
  const int64_t queued = int64_t(incoming_.size()) + waiting_;
  const int64_t free_rows = options_.n_parallel - running_;
  if (queued >= options_.max_queue + std::max<int64_t>(free_rows, 0)) {
    // A place frees when a running request ends: about the mean request time per round of
    // n_parallel requests ahead in the queue.
    const double mean = finished_count_ > 0 ? finished_seconds_ / double(finished_count_) : 1.0;
    const double rounds = std::ceil(double(queued + 1) / double(options_.n_parallel));
    throw QueueFull(fmt::format("the queue is full ({} requests waiting, {} running)", queued, running_),
                    std::max(1.0, std::ceil(mean * rounds)));
  }
  const RequestId id = next_id_++;
  incoming_.push_back(Incoming{id, std::move(request), std::move(on_token), std::move(on_done), Clock::now()});
  counters_.requests_total++;
  lock.unlock();
  work_cv_.notify_all();
  return id;
}

void BatchEngine::cancel(RequestId id) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;  // everything is being cancelled anyway
    cancel_requests_.insert(id);
  }
  work_cv_.notify_all();
}

std::vector<float> BatchEngine::embed(std::span<const int32_t> tokens, std::optional<models::Pooling> pooling) {
  const models::Pooling p = pooling.value_or(models::default_pooling(model_.hparams()));
  std::lock_guard device(device_mutex_);
  if (!embedder_) embedder_ = std::make_unique<models::Embedder>(model_, backend_, n_ctx_, options_.prefill_chunk);
  return embedder_->embed(tokens, p);
}

EngineMetrics BatchEngine::metrics() const {
  std::lock_guard lock(mutex_);
  EngineMetrics m = counters_;
  m.queue_depth = int64_t(incoming_.size()) + waiting_;
  m.running_sequences = running_;
  m.kv_blocks_used = blocks_held_;
  m.kv_blocks_free = blocks_available_;
  return m;
}

void BatchEngine::drain() {
  std::unique_lock lock(mutex_);
  draining_ = true;
  idle_cv_.wait(lock, [&] { return incoming_.empty() && live_count_ == 0 && callbacks_pending_ == 0; });
}

void BatchEngine::publish_gauges() {
  std::lock_guard lock(mutex_);
  waiting_ = scheduler_.waiting_count();
  running_ = scheduler_.running_count();
  blocks_held_ = pool_.held_count();
  blocks_available_ = pool_.available();
}

void BatchEngine::run_loop() {
  for (;;) {
    std::deque<Incoming> arrived;
    std::unordered_set<RequestId> cancels;
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] {
        return stopping_ || !incoming_.empty() || !cancel_requests_.empty() || scheduler_.running_count() > 0 ||
               scheduler_.waiting_count() > 0;
      });
      arrived.swap(incoming_);
      cancels.swap(cancel_requests_);
      stopping = stopping_;
      live_count_ += int64_t(arrived.size());
      if (stopping) callbacks_pending_ += int64_t(arrived.size());  // finished below without running
    }
    if (stopping) {
      for (Incoming& in : arrived) finish_incoming(in, FinishReason::cancelled);
      std::vector<RequestId> ids;
      for (const auto& [id, live] : live_) ids.push_back(id);
      for (RequestId id : ids) finish(id, FinishReason::cancelled);
      publish_gauges();
      return;
    }
    for (Incoming& in : arrived) {
      const RequestId id = in.id;
      scheduler_.enqueue(id, in.request.prompt);
      Live& live = live_[id];
      live.in = std::move(in);
      live.sampler.emplace(live.in.request.sampling);
      live.completion.prompt_tokens = int64_t(live.in.request.prompt.size());
    }
    for (RequestId id : cancels) {
      if (live_.count(id) != 0) finish(id, FinishReason::cancelled);
    }
    publish_gauges();
    if (scheduler_.running_count() == 0 && scheduler_.waiting_count() == 0) continue;
    const bool ran = step();
    publish_gauges();
    if (!ran) {
      // Nothing could run (cannot happen while the pool holds one whole context, which the
      // scheduler checks; a guard against spinning all the same).
      std::unique_lock lock(mutex_);
      work_cv_.wait_for(lock, std::chrono::milliseconds(10));
    }
  }
}

bool BatchEngine::step() {
  const auto start = Clock::now();
  const StepPlan plan = scheduler_.schedule();
  for (SeqId id : plan.admitted) {
    Live& live = live_.at(id);
    const int64_t cached = scheduler_.sequence(id).cached_tokens;
    if (!live.started) {
      live.started = true;
      live.completion.queue_seconds = seconds_since(live.in.submitted);
      live.completion.cached_prompt_tokens = std::min(cached, live.completion.prompt_tokens);
    }
    std::lock_guard lock(mutex_);
    counters_.prefix_cache_hit_tokens_total += uint64_t(cached);
  }
  if (!plan.preempted.empty()) {
    std::lock_guard lock(mutex_);
    counters_.preemptions_total += plan.preempted.size();
  }
  if (plan.chunks.empty()) return false;

  const StepLayout layout = plans_.layout(plan.tokens, trash_block_);
  build_step_inputs(scheduler_, plan, layout, inputs_);
  const std::vector<float>* logits = nullptr;
  try {
    std::lock_guard device(device_mutex_);
    logits = &plans_.run(layout, inputs_);
  } catch (const std::exception& e) {
    log::warn("serving: a step of {} tokens failed: {}", plan.tokens, e.what());
    for (const Chunk& c : plan.chunks) finish(c.id, FinishReason::error, e.what());
    return true;
  }
  scheduler_.commit(plan);

  uint64_t prompt_tokens = 0;
  for (const Chunk& c : plan.chunks) {
    const int64_t n_prompt = live_.at(c.id).completion.prompt_tokens;
    prompt_tokens += uint64_t(std::max<int64_t>(0, std::min(c.first + c.count, n_prompt) - c.first));
  }
  {
    std::lock_guard lock(mutex_);
    counters_.prompt_tokens_total += prompt_tokens;
    counters_.step_seconds.observe(seconds_since(start));
    counters_.batch_tokens.observe(double(plan.tokens));
  }

  const int64_t n_vocab = model_.hparams().n_vocab;
  for (size_t i = 0; i < inputs_.output_ids.size(); ++i) {
    const RequestId id = inputs_.output_ids[i];
    Live& live = live_.at(id);
    const std::span<const float> row(logits->data() + i * size_t(n_vocab), size_t(n_vocab));
    std::optional<FinishReason> reason;
    std::string error;
    try {
      reason = sample(live, row);
    } catch (const std::exception& e) {
      reason = FinishReason::error;
      error = e.what();
    }
    if (reason) finish(id, *reason, std::move(error));
  }
  return true;
}

std::optional<FinishReason> BatchEngine::sample(Live& live, std::span<const float> logits) {
  const RequestId id = live.in.id;
  const Tokenizer& tok = model_.tokenizer();
  std::vector<float> masked;
  if (live.in.request.ignore_eos) {
    masked.assign(logits.begin(), logits.end());
    for (size_t t = 0; t < masked.size(); ++t) {
      if (tok.is_eog(int32_t(t))) masked[t] = -std::numeric_limits<float>::infinity();
    }
    logits = masked;
  }
  const SeqState& s = scheduler_.sequence(id);
  const int32_t next = live.sampler->sample(logits, s.tokens);
  if (tok.is_eog(next)) return FinishReason::eog;
  live.generated++;
  if (live.generated == 1) live.completion.first_token_seconds = seconds_since(live.in.submitted);
  {
    std::lock_guard lock(mutex_);
    counters_.generated_tokens_total++;
  }
  if (!live.in.on_token(next)) return FinishReason::cancelled;
  if (live.generated >= live.in.request.max_tokens) return FinishReason::length;
  if (s.computed >= n_ctx_) return FinishReason::context_full;  // no room to evaluate `next`
  scheduler_.append(id, next);
  return std::nullopt;
}

void BatchEngine::finish(RequestId id, FinishReason reason, std::string error) {
  const auto it = live_.find(id);
  if (it == live_.end()) return;
  Live live = std::move(it->second);
  live_.erase(it);
  scheduler_.remove(id);
  Completion& c = live.completion;
  c.reason = reason;
  c.error = std::move(error);
  c.generated_tokens = live.generated;
  c.total_seconds = seconds_since(live.in.submitted);
  if (!live.started) c.queue_seconds = c.total_seconds;  // never ran
  // The request counts as gone before on_done runs, so whoever on_done wakes finds room for a
  // new one; drain() still waits for the callback.
  {
    std::lock_guard lock(mutex_);
    live_count_--;
    callbacks_pending_++;
    finished_seconds_ += c.total_seconds;
    finished_count_++;
    // Gauges as they are now, so a metrics() call prompted by on_done sees this request gone.
    waiting_ = scheduler_.waiting_count();
    running_ = scheduler_.running_count();
    blocks_held_ = pool_.held_count();
    blocks_available_ = pool_.available();
  }
  try {
    live.in.on_done(c);
  } catch (const std::exception& e) {
    log::warn("serving: the completion callback of request {} failed: {}", id, e.what());
  }
  {
    std::lock_guard lock(mutex_);
    callbacks_pending_--;
  }
  idle_cv_.notify_all();
}

void BatchEngine::finish_incoming(Incoming& in, FinishReason reason) {
  Completion c;
  c.reason = reason;
  c.prompt_tokens = int64_t(in.request.prompt.size());
  c.total_seconds = seconds_since(in.submitted);
  c.queue_seconds = c.total_seconds;
  try {
    in.on_done(c);
  } catch (const std::exception& e) {
    log::warn("serving: the completion callback of request {} failed: {}", in.id, e.what());
  }
  {
    std::lock_guard lock(mutex_);
    live_count_--;
    callbacks_pending_--;
  }
  idle_cv_.notify_all();
}

}  // namespace vkgraph::serving
