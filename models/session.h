#pragma once
// A session: one conversation with a model on a backend. It owns the KV cache and the prepared
// step executables, and turns tokens into logits, one step after another.
//
// The KV cache has a fixed capacity of n_ctx slots per layer, in one of two layouts:
//  - plain (sinks == 0): the token at position p lives in slot p; tokens past n_ctx are refused.
//  - ring (sinks > 0, StreamingLLM): once the cache is full, the first `sinks` tokens stay as
//    attention sinks and every new token overwrites the oldest of the others (the window), so
//    generation goes on forever with no re-prefill and no memory growth.
//
// Ring positions. Positions are positions inside the cache, never absolute: the sinks are
// 0..S-1 and the window tokens S..n_cached-1 in age order, and a query sits at the position
// after the newest key. When a token is evicted every younger window token moves down one
// position. Keys are therefore stored unrotated and rotated by RoPE at their current position
// when attention reads them (AttentionParams::rotate_keys): evicting rewrites nothing, and RoPE
// never sees a position >= n_ctx (tentative tokens of a full ring, below, excepted: up to
// n_ctx + spare_slots - 2). Queries are rotated at their position before attention as
// usual. Until the first eviction these positions equal the absolute ones, so within capacity
// the ring computes exactly ordinary causal attention (the keys' rotation merely moves from
// before the f16 store to after it).
//
// A batch longer than n_batch runs as consecutive steps of at most n_batch tokens.
//
// Slots. The host keeps the cache's slots in position order (slot_order_) and a free list, so a
// token's slot is any free one: within capacity the ring's window is used round-robin as
// before, but tokens can also sit in spare slots past n_ctx (below).
//
// Tentative tokens (speculative decoding). eval_tentative() evaluates drafted tokens whose fate
// is not known yet; accept(n) keeps the first n of them and forgets the rest, as if they had
// never been evaluated. Three rules make the rollback exact, for the plain cache and the ring:
//  - A tentative token never overwrites a cached one: it takes a free slot, and the ring keeps
//    SessionOptions::spare_slots slots past n_ctx for them, so a full ring has room for a
//    verification step without evicting anything. Only accept() evicts, and only what the
//    accepted tokens push out (the oldest window tokens, exactly as committed evals would).
//  - What a tentative token sees depends only on the cache before the step and the tokens
//    before it, never on how many follow it: the first one sees exactly what a committed
//    one-token eval would (when the ring is full, the oldest window token is hidden from the
//    step, kv_pos -1, but stays in its slot until accept() decides), each later one sees the
//    same plus the tentative tokens up to itself. So keeping n of them leaves the cache a run
//    that evaluated only those n (in one tentative step) would have.
//  - Every token row is computed as a one-token step computes it (Graph::decode_rows), so a
//    verification step's logits are those of decoding its tokens one at a time, bit for bit.
// Within capacity (plain cache, or a ring that has not filled) tentative tokens are therefore
// exactly sequential decoding. Once the ring is full, sequential decoding evicts one token per
// token while a verification step evicts only before its first token: its i-th drafted token
// sees i more of the oldest window tokens (and sits i positions further from the sinks) than
// one-token decoding would have, so speculative and plain output may differ there (both are
// StreamingLLM windows; neither is more right). No step with shared key positions can do
// better: the sinks' distance to each query would have to differ per query.
//
// A batch that overflows the ring (a long prompt, a chat turn once the cache is full) runs in
// chunks: first the tokens that fill the free slots (no eviction), then chunks of at most
// overflow_chunk() tokens. Each such chunk first evicts as many of the oldest window tokens as
// it has tokens, then writes its own, so query i of a chunk of m sees the sinks, the
// W - m + i + 1 most recent tokens up to itself (W = n_ctx - S, the window) and nothing else;
// one token at a time (decode) is exactly StreamingLLM's sinks + last W tokens. The semantics
// live here on the host (slots, positions, kv_pos), so every backend computes the same thing
// and the CPU backend is the reference.

#include <compare>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/core/error.h"
#include "models/arch/step_graph.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"

namespace vkgraph::models {

// Thrown by Session::eval when a step's logits hold NaN or infinities (weights holding them, or
// an overflow): the message names the position and the first op of the step that produced a
// non-finite value, with the weight at fault where one is (models/non_finite_trace.h). The
// session is reset first, since its cache may now hold non-finite keys that would poison every
// later step.
class NonFiniteLogits : public Error {
 public:
  using Error::Error;
};

struct SessionOptions {
  int64_t n_ctx = 0;  // KV cache slots; 0: the model's training context, at most 4096
  DType kv_dtype = DType::F16;
  // Attention sinks of the KV cache ring, in [1, n_ctx - 1]; 0: the plain cache (no ring).
  int64_t sinks = 0;
  // Most tokens one step evaluates (llama.cpp's ubatch); a longer prompt runs as several steps
  // at consecutive positions, which is the same causal attention. This bounds the activation
  // arena (O(n_batch), not O(prompt)) and the running time of one submission: a 16k-token
  // prompt in one step takes minutes on a CPU driver, past the hang timeout. 0: no limit.
  int64_t n_batch = 512;
  // KV ring only: slots past n_ctx for tentative tokens (eval_tentative), so that a verification
  // step of up to spare_slots tokens never overwrites a cached token; speculative decoding with
  // K drafted tokens needs K + 1. The plain cache needs none: its tentative tokens take the free
  // positions below n_ctx.
  int64_t spare_slots = 0;
};

// The KV slots a session of `options` gets for `hp` (SessionOptions::n_ctx resolved).
int64_t session_context(const Hparams& hp, const SessionOptions& options);

// With a sliding window (mistral, gemma's local layers), the smallest context at which a ring of
// `sinks` sinks keeps every window exact (Session refuses a smaller one; see
// check_ring_keeps_windows); n_ctx itself when it already does or there is no window.
int64_t ring_context_for_windows(const Hparams& hp, int64_t n_ctx, int64_t sinks);

class Session {
 public:
  Session(const Model& model, Backend& backend, const SessionOptions& options = {});

  // Runs `tokens` at the next positions and returns their logits: [n_vocab] for the last token,
  // or [tokens.size() * n_vocab] with all_logits. Plain cache: throws, changing nothing, when
  // they do not fit. Ring: always fits (an overflowing batch runs in chunks, see above).
  // Logits that are not finite are refused with NonFiniteLogits (the session is then reset).
  std::vector<float> eval(std::span<const int32_t> tokens, bool all_logits = false);

  // Evaluates tokens tentatively (see above) and returns the logits of every one of them,
  // [tokens.size() * n_vocab], each bit-identical to a one-token step's. The cache must have
  // room (tentative_room()); nothing is evicted. May be called again before accept() (a draft
  // model drafts one token per call); eval() and truncate() refuse while tokens are tentative.
  std::vector<float> eval_tentative(std::span<const int32_t> tokens);
  // Keeps the first n tentative tokens as evaluated tokens, forgets the others (their slots
  // become free) and evicts what the kept ones push out of a full ring.
  void accept(int64_t n);
  int64_t n_tentative() const { return n_tentative_; }
  // How many more tokens eval_tentative() can take now.
  int64_t tentative_room() const;

  const Model& model() const { return model_; }
  // Tokens evaluated since the last reset; with the ring this can exceed n_ctx().
  int64_t n_past() const { return n_past_; }
  // Tokens the cache holds now (<= n_ctx()).
  int64_t n_cached() const { return n_past_ - evicted_; }
  // The capacity in tokens (-c); the storage has spare_slots() more slots for tentative tokens.
  int64_t n_ctx() const { return n_ctx_; }
  int64_t spare_slots() const { return kv_.n_slots - n_ctx_; }
  bool ring() const { return sinks_ > 0; }
  int64_t sinks() const { return sinks_; }
  // Tokens evicted from the ring since the last reset (0: the cache holds every token so far).
  int64_t evicted() const { return evicted_; }
  // Whether `n_tokens` more can be evaluated (always with the ring).
  bool fits(int64_t n_tokens) const { return ring() || n_past_ + n_tokens <= n_ctx_; }
  // The largest chunk an overflowing batch runs in once the ring is full.
  int64_t overflow_chunk() const;

  void reset();
  // Forgets every position from n_keep on, so the next eval continues at n_keep (a conversation
  // whose text changed after that point). After an eviction only tokens the cache still holds
  // can be forgotten this way: see can_truncate.
  void truncate(int64_t n_keep);
  // Whether truncate(n_keep) is possible: always before the first eviction; after it, only when
  // the tokens from n_keep on are all still in the window (n_keep >= sinks + evicted()) and, for
  // a model with a sliding window, the next query stays a window away from the sinks (see
  // check_ring_keeps_windows), or to 0 (a reset). The
  // result is the ring as it was, minus its newest tokens (not what evaluating the first n_keep
  // tokens alone would give: more old tokens have been evicted).
  bool can_truncate(int64_t n_keep) const;
  // Prepares the one-token decode step ahead of time (kernel compilation happens here).
  void warm_up() { prepared(step_key(1, false, false)); }
  // The cache slots the next one-token step reads (step_key): those in use, rounded up.
  int64_t decode_slots() const {
    const int64_t extent = step_key(1, false, false).kv_extent;
    return extent > 0 ? extent : kv_.n_slots;
  }

  // LoRA adapters of this session's model applied from the next eval on, each at its scale
  // (models/lora/lora_adapter.h). Nothing is uploaded: the steps are rebuilt around the
  // adapters' weights already on the device. The KV cache keeps what earlier evals wrote under
  // the previous adapters (llama.cpp does the same); reset() starts clean. Throws, changing
  // nothing, for an adapter of another model, a scale that is not finite, or an adapter listed
  // twice.
  void set_adapters(std::vector<AdapterUse> adapters);
  const std::vector<AdapterUse>& adapters() const { return adapters_; }

  // The cache's storages (tests inspect the layout; a saved session would read them), and the
  // slot that holds the token at a cache position (< n_cached()).
  const KvStorage& kv() const { return kv_; }
  int32_t slot_at(int64_t pos) const { return slot_order_.at(size_t(pos)); }
  // Device bytes of the KV cache and of the prepared executables.
  size_t kv_bytes() const;
  size_t executable_bytes() const;
  size_t prepared_count() const { return prepared_.size(); }

 private:
  // A sliding window (mistral, gemma's local layers) masks a key at a distance >= window. The
  // ring renumbers positions as it evicts: window tokens keep their true distances to the
  // queries, but the sinks come closer by every evicted token. Refuses (naming a context that
  // works) a ring where a query after an eviction could come within a window of a sink, so
  // that masking by the ring's positions is masking by the true ones.
  void check_ring_keeps_windows() const;
  struct StepKey {
    int64_t n_tokens = 1;
    bool all_logits = false;
    bool decode_rows = false;
    int64_t kv_extent = 0;  // StepShape::kv_extent
    auto operator<=>(const StepKey&) const = default;
  };
  // The step for n tokens from the cache's present state. A one-token step, and a verification
  // step (decode rows), reads only the slots in use, rounded up to a power of two of at least
  // 256 (kMinKvExtent): the split decode attention walks every slot it is given, filled or not,
  // so a short chat on a large ring would pay for the whole ring at every token. The kernels'
  // chunk grid still follows the whole cache, so the bits do not depend on the extent
  // (lowering_attention_split.cpp). Prompt steps read all slots: their kernels skip empty ones
  // quickly, and each extent would be one more prepared step of a prompt's size.
  StepKey step_key(int64_t n, bool all_logits, bool decode_rows) const;
  struct Prepared {
    StepGraph step;
    std::unique_ptr<Executable> executable;
    uint64_t last_use = 0;
  };
  Prepared& prepared(const StepKey& key);
  // Evaluates one chunk that fits the cache after evicting at most its own length.
  std::vector<float> eval_chunk(std::span<const int32_t> tokens, bool all_logits);
  // Runs a prepared step: the tokens go to free slots at the positions after the cache's, with
  // `hidden` of the oldest window tokens invisible to it (kv_pos -1).
  std::vector<float> run_step(Prepared& p, std::span<const int32_t> tokens, bool all_logits, int64_t hidden);
  // Drops the oldest window token (its slot becomes free).
  void evict_oldest();
  int32_t take_slot();
  void check_tokens(std::span<const int32_t> tokens) const;
  void release_slot(int32_t slot);

  const Model& model_;
  Backend& backend_;
  KvStorage kv_;
  int64_t n_ctx_ = 0;
  int64_t sinks_ = 0;
  int64_t n_batch_ = 0;     // SessionOptions::n_batch
  int64_t n_past_ = 0;      // evaluated tokens, tentative ones included
  int64_t evicted_ = 0;     // window tokens overwritten since the last reset
  int32_t max_window_ = 0;  // the model's largest sliding window (0: none)
  int64_t n_tentative_ = 0;
  // The slot of every cached token (tentative ones last), in cache-position order.
  std::deque<int32_t> slot_order_;
  // Free slots: every slot >= next_fresh_, and those in freed_ (all below it).
  int32_t next_fresh_ = 0;
  std::set<int32_t> freed_;
  std::map<StepKey, Prepared> prepared_;  // built with adapters_
  std::vector<AdapterUse> adapters_;
  uint64_t use_clock_ = 0;
};

}  // namespace vkgraph::models
