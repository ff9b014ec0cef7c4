#pragma once
// What both serving engines (session_engine.h, batch_engine.h) do alike: the checks a request
// and the options must pass, the queue's admission rule, the completion callback's error
// guard. Internal to models/serving.

#include <chrono>
#include <cstdint>
#include <span>

#include "models/serving/engine.h"

namespace vkgraph {
class Tokenizer;
}

namespace vkgraph::serving {

double seconds_since(std::chrono::steady_clock::time_point t);

// Step time from a millisecond (a tiny model's decode on a GPU) to 10 s (a long prompt chunk on
// a CPU driver); batch sizes by powers of two up to a few prompt chunks.
Histogram step_histogram();
Histogram batch_histogram();

// Tokens per sequence: as asked, else the model's training context, at most 4096.
int64_t resolve_n_ctx(const models::Hparams& hp, int64_t requested);

// Throws Error naming the option out of range (the options both engines read).
void check_engine_options(const EngineOptions& o);

// Throws Error naming what makes `request` impossible to run: an empty prompt or one longer than
// n_ctx, a token outside the vocabulary, max_tokens or sampling parameters out of range, a
// missing callback. (Which adapters an engine applies is its own check.)
void check_request(const Request& request, const OnToken& on_token, const OnDone& on_done, const models::Model& model,
                   int64_t n_ctx);

// The mean time of finished requests, the basis of QueueFull's Retry-After.
struct FinishedRequests {
  double seconds = 0;
  uint64_t count = 0;
  void record(double total_seconds) {
    seconds += total_seconds;
    count++;
  }
};

// Throws QueueFull when `queued` requests already wait and no place is left: the queue holds
// max_queue beyond the running ones, plus the running places that are free now.
void check_queue_room(int64_t queued, int64_t running, const EngineOptions& options, const FinishedRequests& finished);

// Sets the end-of-generation tokens' logits to -inf, so they cannot be drawn (Request::ignore_eos).
void forbid_end_of_generation(std::span<float> logits, const Tokenizer& tokenizer);

// The completion of a request that ended before it ran (cancelled while queued, or at shutdown).
Completion completion_before_start(const Request& request, std::chrono::steady_clock::time_point submitted,
                                   FinishReason reason);

// Calls on_done; an exception from it is logged, not passed on: the engine thread must go on
// serving everyone else.
void deliver_completion(const OnDone& on_done, const Completion& completion, RequestId id);

}  // namespace vkgraph::serving
