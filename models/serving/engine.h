#pragma once
// The serving engine: runs many generation requests on one model at once. The HTTP layer
// (cli/serve/) renders and tokenizes, submits token ids here and turns the tokens it gets back
// into text; the engine knows sequences, KV memory and steps, nothing of HTTP or JSON.
//
// Engine::create makes the engine EngineOptions::kind names: the batched engine
// (batch_engine.h, the default: continuous batching over a paged KV cache, on every backend) or
// the session engine (session_engine.h: one Session per running sequence, stepped in turn; the
// simpler one, kept as a reference and for comparison, `vkgraph serve --engine session`).
//
// Threads: submit, cancel, embed, metrics and drain may be called from any thread. The
// callbacks run on the engine's own thread, in order, and must be short (hand the token to the
// connection's queue): a slow callback delays every running sequence.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/core/error.h"
#include "models/arch/hparams.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"
#include "models/sampler.h"
#include "models/serving/histogram.h"
#include "models/speculative/ngram_drafter.h"
#include "models/speculative/speculative_params.h"

namespace vkgraph::serving {

struct Request {
  std::vector<int32_t> prompt;     // token ids, BOS included (the caller renders and tokenizes); not empty
  int64_t max_tokens = 16;         // tokens to generate at most; > 0
  models::SamplerParams sampling;  // temperature 0 = greedy; the seed makes sampling reproducible
  bool ignore_eos = false;         // end-of-generation tokens cannot be drawn (fixed-length output)
  // The LoRA adapters and scales this request applies (models::choose_adapters turns
  // llama-server's `lora` field into them); nullopt: the engine's (EngineOptions::adapters).
  // Only adapters of the engine's model; a scale of 0 leaves an adapter out.
  std::optional<std::vector<models::AdapterUse>> adapters;
  // Speculative decoding by prompt lookup (models/speculative): after each token, up to
  // draft_max tokens that followed an earlier occurrence of the context's end are verified with
  // it in the sequence's next step; the tokens that come out are exactly those without it.
  // nullopt: the engine's (EngineOptions::speculative); draft_max 0: off for this request.
  std::optional<int32_t> draft_max;
  std::optional<int32_t> draft_min;  // shorter drafts are not verified (a plain step instead)
  // Later additions (speculative drafts) are new fields with defaults, so callers keep compiling.
};

enum class FinishReason {
  length,        // max_tokens generated
  eog,           // the model drew an end-of-generation token (not passed to on_token)
  cancelled,     // cancel(), or on_token returned false
  context_full,  // the sequence filled its context before max_tokens
  error,         // the device failed on this sequence; Completion::error says how
};

const char* finish_reason_name(FinishReason reason);  // "length", "eog", ...

struct Completion {  // passed to on_done exactly once per submitted request
  FinishReason reason = FinishReason::length;
  std::string error;                 // the message when reason == error
  int64_t prompt_tokens = 0;         // the request's prompt length
  int64_t cached_prompt_tokens = 0;  // prompt tokens whose KV came from a prefix cache (0 without one)
  int64_t generated_tokens = 0;      // tokens passed to on_token
  int64_t drafted_tokens = 0;        // drafted tokens verified (speculative decoding)
  int64_t accepted_tokens = 0;       // of them, accepted
  double queue_seconds = 0;          // submit() to the start of the prompt's evaluation
  double first_token_seconds = 0;    // submit() to the first token (0 when none came)
  double total_seconds = 0;          // submit() to on_done
};

using RequestId = uint64_t;
// Called once per generated token, in order. Return false to stop (client gone, stop string
// matched): the request then ends as `cancelled` and its sequence is freed before the next step.
using OnToken = std::function<bool(int32_t token)>;
using OnDone = std::function<void(const Completion&)>;

// submit() when the waiting queue is full: the HTTP layer answers 429 with Retry-After.
struct QueueFull : Error {
  QueueFull(const std::string& message, double retry_after) : Error(message), retry_after_seconds(retry_after) {}
  double retry_after_seconds;  // a hint: about when a place may be free
};

// submit() after drain() began: the HTTP layer answers 503.
struct ShuttingDown : Error {
  using Error::Error;
};

// Which engine Engine::create makes (`vkgraph serve --engine`).
enum class EngineKind : uint8_t {
  batched,  // batch_engine.h: every running sequence in one step, paged KV cache, prefix sharing
  session,  // session_engine.h: a Session (plain KV cache of n_ctx) per sequence, one step each in turn
};
const char* engine_kind_name(EngineKind kind);

struct EngineOptions {
  EngineKind kind = EngineKind::batched;
  int64_t n_parallel = 4;  // sequences running at once (--parallel)
  int64_t n_ctx = 0;       // tokens per sequence (--ctx-size); 0: the model's, at most 4096
  int64_t max_queue = 64;  // requests waiting beyond the running ones; one more gets QueueFull
  // Most prompt tokens one sequence evaluates per step: a long prompt is fed in chunks so the
  // other sequences keep generating meanwhile.
  int64_t prefill_chunk = 512;
  // Most tokens one step evaluates, all sequences together (generated tokens first, then prompt
  // chunks). Steps are prepared for powers of two up to it.
  int64_t step_tokens = 512;
  int64_t block_size = 16;  // KV cache block: positions per block (--block-size)
  // Blocks in the KV cache (--kv-blocks); 0: n_parallel sequences of n_ctx tokens. At least one
  // sequence's context: fewer running sequences fit when blocks run out, never fewer than one.
  int64_t kv_blocks = 0;
  // LoRA adapters loaded at start-up (`--lora`), in order: a request names them by index (its
  // `lora` field); these scales apply to requests that do not.
  std::vector<models::AdapterUse> adapters;
  // Speculative decoding (`--draft ngram|model`, `--draft-max`, `--draft-min`): what
  // requests that do not choose get, and draft_max is the most any request may ask for (it
  // sizes the prepared steps' logit rows). draft_max 0: off. The batched engine serves it.
  models::SpeculativeParams speculative{.draft_max = 0, .draft_min = 0};
  models::NgramOptions ngram;  // `--draft-ngram-min`
  // Drafts from a smaller model (`--draft-model`) instead of prompt lookup: its vocabulary must
  // be the model's (checked, the error names the first difference). Each table row gets a
  // drafter with a session of its own on the engine's backend (draft steps are per sequence,
  // not batched). The draft model must outlive the engine.
  const models::Model* draft_model = nullptr;
  float draft_p_min = 0.0f;  // `--draft-p-min`: stop drafting at a token the draft gives less
};

struct EngineMetrics {
  uint64_t requests_total = 0;  // submitted and accepted
  uint64_t prompt_tokens_total = 0;
  uint64_t generated_tokens_total = 0;
  uint64_t prefix_cache_hit_tokens_total = 0;  // prompt tokens not evaluated thanks to a prefix cache
  uint64_t draft_tokens_total = 0;             // drafted tokens verified (speculative decoding)
  uint64_t draft_tokens_accepted_total = 0;    // of them, accepted
  uint64_t preemptions_total = 0;  // sequences sent back to the queue when KV blocks ran out (recomputed later)
  int64_t queue_depth = 0;         // accepted, not yet running
  int64_t running_sequences = 0;
  int64_t kv_blocks_used = 0;  // KV cache blocks held by sequences
  int64_t kv_blocks_free = 0;  // blocks free or kept only by the prefix cache (reusable)
  Histogram step_seconds;      // wall time of one engine step (all running sequences once)
  Histogram batch_tokens;      // tokens evaluated per step
};

class Engine {
 public:
  // The engine options.kind names; the batched one prepares its steps before it returns.
  static std::unique_ptr<Engine> create(const models::Model& model, Backend& backend, const EngineOptions& options);
  virtual ~Engine();

  // Queues a request. Throws Error naming the problem for one that can never run (an empty
  // prompt, a token outside the vocabulary, a prompt of N tokens beyond the context of M),
  // QueueFull when the queue is full and ShuttingDown after drain() began. Thread-safe.
  virtual RequestId submit(Request request, OnToken on_token, OnDone on_done) = 0;
  // Ends a queued or running request; its on_done(cancelled) follows (unless it already ended).
  // Thread-safe; unknown ids are ignored.
  virtual void cancel(RequestId id) = 0;
  // Pooled, L2-normalized final hidden states of `tokens` ([n_embd], or [n_tokens * n_embd]
  // with Pooling::none): the pooling given, else the file's. Runs between steps. Thread-safe.
  virtual std::vector<float> embed(std::span<const int32_t> tokens, std::optional<models::Pooling> pooling) = 0;
  // A consistent snapshot. Thread-safe.
  virtual EngineMetrics metrics() const = 0;
  // Tokens per sequence, the limit submit() checks prompts against.
  virtual int64_t n_ctx() const = 0;
  // EngineOptions::adapters: the adapters a request may choose among, with their default scales.
  virtual const std::vector<models::AdapterUse>& adapters() const = 0;
  // The most drafted tokens a request may have verified per step (Request::draft_max); 0: the
  // engine does not speculate.
  virtual int32_t draft_max() const = 0;
  // Stops accepting (submit throws ShuttingDown), lets running and queued requests finish and
  // returns once every on_done has been called. Thread-safe; later calls return at once.
  virtual void drain() = 0;
};

}  // namespace vkgraph::serving
