#include "cli/serve/generation_job.h"

namespace vkgraph::serve {

GenerationJob::GenerationJob(const Tokenizer& tokenizer, std::vector<std::string> stops)
    : decoder_(tokenizer, false, false), stop_(std::move(stops)) {}

serving::OnToken GenerationJob::on_token() {
  return [self = shared_from_this()](int32_t token) {
    const std::string text = self->stop_.push(self->decoder_.push(token));
    const bool stopped = self->stop_.stopped();
    std::lock_guard lock(self->mutex_);
    self->stop_matched_ = stopped;
    if (!text.empty()) {
      self->ready_ += text;
      self->cv_.notify_all();
    }
    return !stopped && !self->abandoned_;
  };
}

serving::OnDone GenerationJob::on_done() {
  return [self = shared_from_this()](const serving::Completion& completion) {
    // Bytes the decoder still holds (a character cut by max_tokens) come out as U+FFFD.
    std::string tail = self->stop_.push(self->decoder_.finish());
    tail += self->stop_.finish();
    std::lock_guard lock(self->mutex_);
    self->ready_ += tail;
    self->completion_ = completion;
    self->done_ = true;
    self->cv_.notify_all();
  };
}

GenerationJob::Update GenerationJob::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return done_ || !ready_.empty(); });
  Update u;
  u.text = std::move(ready_);
  ready_.clear();
  u.done = done_;
  return u;
}

std::string GenerationJob::wait_all() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return done_; });
  std::string out = std::move(ready_);
  ready_.clear();
  return out;
}

void GenerationJob::abandon() {
  std::lock_guard lock(mutex_);
  abandoned_ = true;
}

std::string GenerationJob::finish_reason() const {
  std::lock_guard lock(mutex_);
  if (stop_matched_) return "stop";
  switch (completion_.reason) {
    case serving::FinishReason::eog:
      return "stop";
    case serving::FinishReason::length:
    case serving::FinishReason::context_full:
      return "length";
    case serving::FinishReason::cancelled:
    case serving::FinishReason::error:
      return "";
  }
  return "";
}

}  // namespace vkgraph::serve
