#include "models/serving/batch_engine.h"

#include <algorithm>
#include <limits>

#include "engine/core/log.h"
#include "models/serving/engine_support.h"
#include "models/speculative/model_drafter.h"
#include "models/speculative/verification.h"
#include "models/speculative/vocab_match.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::serving {
namespace {

const EngineOptions& checked(const EngineOptions& o) {
  check_engine_options(o);
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
      plans_(model, backend, kv_, block_size_, options.n_parallel, scheduler_.max_blocks(), options.step_tokens,
             1 + options.speculative.draft_max),
      trash_block_(int32_t(pool_blocks(options, n_ctx_))),
      drafter_(options.ngram) {
  for (int64_t t = 0; t < model.hparams().n_vocab; ++t) {
    if (model.tokenizer().is_eog(int32_t(t))) end_of_generation_.push_back(int32_t(t));
  }
  make_row_drafters();
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
  check_request(request, on_token, on_done, model_, n_ctx_);
  VKGRAPH_CHECK(!request.adapters || request.adapters->empty(),
                "the batched engine does not apply LoRA adapters (serve them with --engine session)");
  if (request.draft_max) {
    VKGRAPH_CHECK(*request.draft_max >= 0 && *request.draft_max <= options_.speculative.draft_max,
                  "the request asks for {} drafted tokens per step; this server verifies at most {} "
                  "(start it with --draft ngram --draft-max N to serve speculative decoding)",
                  *request.draft_max, options_.speculative.draft_max);
  }
  VKGRAPH_CHECK(request.draft_min.value_or(0) >= 0, "the request's draft minimum must be >= 0 (got {})",
                request.draft_min.value_or(0));

  std::unique_lock lock(mutex_);
  if (draining_) throw ShuttingDown("the server is shutting down and takes no new requests");
  check_queue_room(int64_t(incoming_.size()) + waiting_, running_, options_, finished_);
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
      live.speculative.draft_max = live.in.request.draft_max.value_or(options_.speculative.draft_max);
      live.speculative.draft_min = live.in.request.draft_min.value_or(options_.speculative.draft_min);
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
  // Drafts the scheduler dropped (a preempted sequence, a step budget too small) are not verified.
  for (auto& [id, live] : live_) {
    const auto kept = size_t(scheduler_.sequence(id).tentative);
    if (live.draft.tokens.size() > kept) {
      live.draft.tokens.resize(kept);
      if (!live.draft.distributions.empty()) live.draft.distributions.resize(kept);
    }
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

  // Each sequence's rows are consecutive: one, or one per draft and one for its new token.
  const auto n_vocab = size_t(model_.hparams().n_vocab);
  for (size_t i = 0; i < inputs_.output_ids.size();) {
    const RequestId id = inputs_.output_ids[i];
    size_t n_rows = 1;
    while (i + n_rows < inputs_.output_ids.size() && inputs_.output_ids[i + n_rows] == id) ++n_rows;
    const std::span<const float> rows(logits->data() + i * n_vocab, n_rows * n_vocab);
    i += n_rows;
    std::optional<FinishReason> reason;
    std::string error;
    try {
      reason = advance(live_.at(id), rows);
    } catch (const std::exception& e) {
      reason = FinishReason::error;
      error = e.what();
    }
    if (reason) finish(id, *reason, std::move(error));
  }
  return true;
}

std::optional<FinishReason> BatchEngine::advance(Live& live, std::span<const float> rows) {
  const RequestId id = live.in.id;
  const auto n_vocab = size_t(model_.hparams().n_vocab);
  const SeqState& s = scheduler_.sequence(id);
  const std::span<const int32_t> banned = banned_tokens(live);
  std::vector<int32_t> tokens;  // to hand out: the accepted drafts, then the target's own
  if (live.draft.tokens.empty()) {
    VKGRAPH_CHECK(rows.size() == n_vocab, "internal: request {} got {} logit rows for one token", id,
                  rows.size() / n_vocab);
    std::vector<float> masked(rows.begin(), rows.end());
    for (int32_t t : banned) masked[size_t(t)] = -std::numeric_limits<float>::infinity();
    tokens.push_back(live.sampler->sample(masked, s.tokens));
  } else {
    const size_t k = live.draft.tokens.size();
    VKGRAPH_CHECK(rows.size() == (k + 1) * n_vocab, "internal: request {} verifies {} drafts with {} rows", id, k,
                  rows.size() / n_vocab);
    // The history the rows saw: every token before the drafts (the newest, x, included).
    const std::span<const int32_t> history(s.tokens.data(), s.tokens.size() - k);
    const models::Verdict verdict = models::verify_drafts({rows, &live.draft, history, banned}, *live.sampler);
    scheduler_.resolve_draft(id, verdict.n_accepted);
    tokens.assign(live.draft.tokens.begin(), live.draft.tokens.begin() + verdict.n_accepted);
    tokens.push_back(verdict.next);
    live.completion.drafted_tokens += int64_t(k);
    live.completion.accepted_tokens += verdict.n_accepted;
    std::lock_guard lock(mutex_);
    counters_.draft_tokens_total += k;
    counters_.draft_tokens_accepted_total += uint64_t(verdict.n_accepted);
  }
  live.draft = {};
  // Accepted drafts are computed already; only the last token waits for the next step.
  for (int32_t token : tokens) {
    if (const auto reason = deliver(live, token)) return reason;
  }
  if (s.computed >= n_ctx_) return FinishReason::context_full;  // no room to evaluate the last token
  scheduler_.append(id, tokens.back());
  propose_draft(live);
  return std::nullopt;
}

std::optional<FinishReason> BatchEngine::deliver(Live& live, int32_t token) {
  if (model_.tokenizer().is_eog(token)) return FinishReason::eog;
  live.generated++;
  if (live.generated == 1) live.completion.first_token_seconds = seconds_since(live.in.submitted);
  {
    std::lock_guard lock(mutex_);
    counters_.generated_tokens_total++;
  }
  if (!live.in.on_token(token)) return FinishReason::cancelled;
  if (live.generated >= live.in.request.max_tokens) return FinishReason::length;
  return std::nullopt;
}

std::span<const int32_t> BatchEngine::banned_tokens(const Live& live) const {
  if (!live.in.request.ignore_eos) return {};
  return end_of_generation_;
}

void BatchEngine::make_row_drafters() {
  if (options_.draft_model == nullptr) return;
  VKGRAPH_CHECK(options_.speculative.draft_max > 0, "a draft model needs --draft-max >= 1");
  models::check_same_vocabulary(model_, *options_.draft_model);
  models::SessionOptions session;
  session.n_ctx = n_ctx_;
  session.sinks = 0;  // a request's context is a limit, as the target's
  models::ModelDrafterOptions drafter;
  drafter.max_tokens = options_.speculative.draft_max;
  drafter.p_min = options_.draft_p_min;
  for (int64_t row = 0; row < options_.n_parallel; ++row) {
    row_drafters_.push_back(std::make_unique<models::ModelDrafter>(*options_.draft_model, backend_, session, drafter));
  }
}

void BatchEngine::propose_draft(Live& live) {
  const SeqState& s = scheduler_.sequence(live.in.id);
  // Never past max_tokens (the newest token is one of them) nor past the context.
  const int64_t room = std::min(live.in.request.max_tokens - live.generated - 1, n_ctx_ - int64_t(s.tokens.size()));
  const auto most = int32_t(std::min<int64_t>(live.speculative.draft_max, room));
  if (most <= 0) return;
  const models::DraftRequest request{s.tokens, most, &live.in.request.sampling, banned_tokens(live)};
  models::Draft draft;
  if (row_drafters_.empty()) {
    draft = drafter_.propose(request);
  } else {
    // The drafter of the sequence's table row: it keeps what it evaluated for whichever sequence
    // held the row and catches up from the longest common prefix. Its steps use the device.
    std::lock_guard device(device_mutex_);
    draft = row_drafters_.at(size_t(s.row))->propose(request);
  }
  if (draft.tokens.empty() || int64_t(draft.tokens.size()) < live.speculative.draft_min) return;
  scheduler_.append_draft(live.in.id, draft.tokens);
  live.draft = std::move(draft);
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
    finished_.record(c.total_seconds);
    // Gauges as they are now, so a metrics() call prompted by on_done sees this request gone.
    waiting_ = scheduler_.waiting_count();
    running_ = scheduler_.running_count();
    blocks_held_ = pool_.held_count();
    blocks_available_ = pool_.available();
  }
  deliver_completion(live.in.on_done, c, id);
  {
    std::lock_guard lock(mutex_);
    callbacks_pending_--;
  }
  idle_cv_.notify_all();
}

void BatchEngine::finish_incoming(Incoming& in, FinishReason reason) {
  deliver_completion(in.on_done, completion_before_start(in.request, in.submitted, reason), in.id);
  {
    std::lock_guard lock(mutex_);
    live_count_--;
    callbacks_pending_--;
  }
  idle_cv_.notify_all();
}

}  // namespace vkgraph::serving
