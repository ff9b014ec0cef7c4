#include "models/serving/session_engine.h"

#include <algorithm>
#include <cmath>

#include "engine/core/log.h"
#include "models/serving/engine_support.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::serving {
namespace {

bool same_adapters(std::span<const models::AdapterUse> a, std::span<const models::AdapterUse> b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].adapter != b[i].adapter || a[i].scale != b[i].scale) return false;
  }
  return true;
}

}  // namespace

SessionEngine::SessionEngine(const models::Model& model, Backend& backend, const EngineOptions& options)
    : model_(model), backend_(backend), options_(options), n_ctx_(resolve_n_ctx(model.hparams(), options.n_ctx)) {
  check_engine_options(options);
  VKGRAPH_CHECK(options.speculative.draft_max == 0,
                "speculative decoding (--draft) is served by the batched engine (--engine batched)");
  counters_.step_seconds = step_histogram();
  counters_.batch_tokens = batch_histogram();
  models::SessionOptions session_options;
  session_options.n_ctx = n_ctx_;
  session_options.sinks = 0;  // a request's context is a limit (finish reason context_full), never a ring
  session_options.n_batch = options.prefill_chunk;
  slots_.resize(size_t(options.n_parallel));
  for (Slot& slot : slots_) {
    slot.session = std::make_unique<models::Session>(model, backend, session_options);
    slot.session->set_adapters(options.adapters);  // throws for an adapter of another model
    slot.session->warm_up();                       // the decode step is compiled before the first request waits on it
  }
  thread_ = std::thread([this] { run_scheduler(); });
}

SessionEngine::~SessionEngine() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    draining_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

RequestId SessionEngine::submit(Request request, OnToken on_token, OnDone on_done) {
  check_request(request, on_token, on_done, model_, n_ctx_);
  VKGRAPH_CHECK(request.draft_max.value_or(0) == 0,
                "speculative decoding is served by the batched engine (--engine batched)");
  if (request.adapters) {
    for (const models::AdapterUse& use : *request.adapters) {
      VKGRAPH_CHECK(use.adapter != nullptr && use.adapter->model() == &model_,
                    "the request's LoRA adapter '{}' was not loaded for this model",
                    use.adapter ? use.adapter->path() : "(none)");
      VKGRAPH_CHECK(std::isfinite(use.scale), "the scale of LoRA adapter '{}' is not a finite number",
                    use.adapter->path());
    }
  }

  std::unique_lock lock(mutex_);
  if (draining_) throw ShuttingDown("the server is shutting down and takes no new requests");
  check_queue_room(int64_t(queue_.size()), running_, options_, finished_);
  const RequestId id = next_id_++;
  queue_.push_back(Waiting{id, std::move(request), std::move(on_token), std::move(on_done), Clock::now()});
  counters_.requests_total++;
  lock.unlock();
  work_cv_.notify_all();
  return id;
}

void SessionEngine::cancel(RequestId id) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;  // everything is being cancelled anyway
    cancel_requests_.insert(id);
  }
  work_cv_.notify_all();
}

std::vector<float> SessionEngine::embed(std::span<const int32_t> tokens, std::optional<models::Pooling> pooling) {
  const models::Pooling p = pooling.value_or(models::default_pooling(model_.hparams()));
  std::lock_guard device(device_mutex_);
  if (!embedder_) embedder_ = std::make_unique<models::Embedder>(model_, backend_, n_ctx_, options_.prefill_chunk);
  return embedder_->embed(tokens, p);
}

EngineMetrics SessionEngine::metrics() const {
  std::lock_guard lock(mutex_);
  EngineMetrics m = counters_;
  m.queue_depth = int64_t(queue_.size());
  m.running_sequences = running_;
  // No blocks here: each session's cache counts as one block.
  m.kv_blocks_used = running_;
  m.kv_blocks_free = options_.n_parallel - running_;
  return m;
}

void SessionEngine::drain() {
  std::unique_lock lock(mutex_);
  draining_ = true;
  idle_cv_.wait(lock, [&] { return queue_.empty() && running_ == 0 && callbacks_pending_ == 0; });
}

std::vector<SessionEngine::Waiting> SessionEngine::admit_locked() {
  std::vector<Waiting> dropped;
  for (RequestId id : cancel_requests_) {
    const auto waiting = std::find_if(queue_.begin(), queue_.end(), [&](const Waiting& w) { return w.id == id; });
    if (waiting != queue_.end()) {
      dropped.push_back(std::move(*waiting));
      queue_.erase(waiting);
      continue;
    }
    for (Slot& slot : slots_) {
      if (slot.sequence && slot.sequence->w.id == id) slot.sequence->cancel_requested = true;
    }
  }
  cancel_requests_.clear();
  if (stopping_) {
    for (Waiting& w : queue_) dropped.push_back(std::move(w));
    queue_.clear();
    for (Slot& slot : slots_) {
      if (slot.sequence) slot.sequence->cancel_requested = true;
    }
  }
  for (Slot& slot : slots_) {
    if (slot.sequence || queue_.empty()) continue;
    Sequence s;
    s.w = std::move(queue_.front());
    queue_.pop_front();
    s.sampler.emplace(s.w.request.sampling);
    s.history = s.w.request.prompt;
    s.completion.prompt_tokens = int64_t(s.w.request.prompt.size());
    slot.sequence = std::move(s);
    running_++;
  }
  callbacks_pending_ += int64_t(dropped.size());
  return dropped;
}

void SessionEngine::run_scheduler() {
  for (;;) {
    std::vector<Waiting> dropped;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || running_ > 0 || !cancel_requests_.empty(); });
      dropped = admit_locked();
      if (stopping_ && running_ == 0 && dropped.empty()) break;
    }
    for (Waiting& w : dropped) finish_waiting(w, FinishReason::cancelled);

    const auto start = Clock::now();
    int64_t tokens = 0;
    bool stepped = false;
    {
      std::lock_guard device(device_mutex_);
      for (Slot& slot : slots_) {
        if (!slot.sequence) continue;
        if (slot.sequence->cancel_requested) {
          finish(slot, FinishReason::cancelled);
          continue;
        }
        stepped = true;
        std::optional<FinishReason> reason;
        std::string error;
        try {
          reason = step(slot, tokens);
        } catch (const std::exception& e) {
          reason = FinishReason::error;
          error = e.what();
          log::warn("serving: request {} failed: {}", slot.sequence->w.id, error);
        }
        if (reason) finish(slot, *reason, std::move(error));
      }
    }
    if (stepped) {
      std::lock_guard lock(mutex_);
      counters_.step_seconds.observe(seconds_since(start));
      counters_.batch_tokens.observe(double(tokens));
    }
  }
}

std::optional<FinishReason> SessionEngine::step(Slot& slot, int64_t& tokens_evaluated) {
  Sequence& s = *slot.sequence;
  models::Session& session = *slot.session;
  const std::vector<int32_t>& prompt = s.w.request.prompt;
  std::vector<float> logits;
  if (s.prompt_done < prompt.size()) {
    if (s.prompt_done == 0) {
      s.completion.queue_seconds = seconds_since(s.w.submitted);
      apply_adapters(session, s.w.request.adapters ? *s.w.request.adapters : options_.adapters);
    }
    const size_t m = std::min(prompt.size() - s.prompt_done, size_t(options_.prefill_chunk));
    logits = session.eval(std::span<const int32_t>(prompt).subspan(s.prompt_done, m));
    s.prompt_done += m;
    tokens_evaluated += int64_t(m);
    {
      std::lock_guard lock(mutex_);
      counters_.prompt_tokens_total += m;
    }
    if (s.prompt_done < prompt.size()) return std::nullopt;  // more prompt next round
  } else {
    const int32_t one[] = {s.last_token};
    logits = session.eval(one);
    tokens_evaluated += 1;
  }

  const Tokenizer& tok = model_.tokenizer();
  if (s.w.request.ignore_eos) forbid_end_of_generation(logits, tok);
  const int32_t next = s.sampler->sample(logits, s.history);
  if (tok.is_eog(next)) return FinishReason::eog;
  s.generated++;
  s.history.push_back(next);
  if (s.generated == 1) s.completion.first_token_seconds = seconds_since(s.w.submitted);
  {
    std::lock_guard lock(mutex_);
    counters_.generated_tokens_total++;
  }
  if (!s.w.on_token(next)) return FinishReason::cancelled;
  if (s.generated >= s.w.request.max_tokens) return FinishReason::length;
  if (!session.fits(1)) return FinishReason::context_full;
  s.last_token = next;
  return std::nullopt;
}

void SessionEngine::apply_adapters(models::Session& session, const std::vector<models::AdapterUse>& adapters) {
  // Changing them rebuilds the session's steps (nothing is uploaded): skipped when the previous
  // request of this slot used the same ones, the usual case.
  if (!same_adapters(session.adapters(), adapters)) session.set_adapters(adapters);
}

void SessionEngine::finish(Slot& slot, FinishReason reason, std::string error) {
  Sequence s = std::move(*slot.sequence);
  slot.sequence.reset();
  slot.session->reset();
  s.completion.reason = reason;
  s.completion.error = std::move(error);
  s.completion.generated_tokens = s.generated;
  s.completion.total_seconds = seconds_since(s.w.submitted);
  if (s.prompt_done == 0) s.completion.queue_seconds = s.completion.total_seconds;  // never started
  // The slot counts as free before on_done runs, so whoever on_done wakes finds room for a new
  // request; drain() still waits for the callback.
  {
    std::lock_guard lock(mutex_);
    running_--;
    callbacks_pending_++;
    finished_.record(s.completion.total_seconds);
  }
  deliver_completion(s.w.on_done, s.completion, s.w.id);
  {
    std::lock_guard lock(mutex_);
    callbacks_pending_--;
  }
  idle_cv_.notify_all();
}

void SessionEngine::finish_waiting(Waiting& w, FinishReason reason) {
  deliver_completion(w.on_done, completion_before_start(w.request, w.submitted, reason), w.id);
  {
    std::lock_guard lock(mutex_);
    callbacks_pending_--;
  }
  idle_cv_.notify_all();
}

}  // namespace vkgraph::serving
