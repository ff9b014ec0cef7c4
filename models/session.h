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
// never sees a position >= n_ctx. Queries are rotated at their position before attention as
// usual. Until the first eviction these positions equal the absolute ones, so within capacity
// the ring computes exactly ordinary causal attention (the keys' rotation merely moves from
// before the f16 store to after it).
//
// A batch longer than n_batch runs as consecutive steps of at most n_batch tokens.
//
// A batch that overflows the ring (a long prompt, a chat turn once the cache is full) runs in
// chunks: first the tokens that fill the free slots (no eviction), then chunks of at most
// overflow_chunk() tokens. Each such chunk first evicts as many of the oldest window tokens as
// it has tokens, then writes its own, so query i of a chunk of m sees the sinks, the
// W - m + i + 1 most recent tokens up to itself (W = n_ctx - S, the window) and nothing else;
// one token at a time (decode) is exactly StreamingLLM's sinks + last W tokens. The semantics
// live here on the host (slots, positions, kv_pos), so every backend computes the same thing
// and the CPU backend is the reference.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "engine/backend/backend.h"
#include "models/arch/step_graph.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"

namespace vkgraph::models {

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
};

class Session {
 public:
  Session(const Model& model, Backend& backend, const SessionOptions& options = {});

  // Runs `tokens` at the next positions and returns their logits: [n_vocab] for the last token,
  // or [tokens.size() * n_vocab] with all_logits. Plain cache: throws, changing nothing, when
  // they do not fit. Ring: always fits (an overflowing batch runs in chunks, see above).
  std::vector<float> eval(std::span<const int32_t> tokens, bool all_logits = false);

  const Model& model() const { return model_; }
  // Tokens evaluated since the last reset; with the ring this can exceed n_ctx().
  int64_t n_past() const { return n_past_; }
  // Tokens the cache holds now (<= n_ctx()).
  int64_t n_cached() const { return n_past_ - evicted_; }
  int64_t n_ctx() const { return kv_.n_slots; }
  bool ring() const { return sinks_ > 0; }
  int64_t sinks() const { return sinks_; }
  // Tokens evicted from the ring since the last reset (0: the cache holds every token so far).
  int64_t evicted() const { return evicted_; }
  // Whether `n_tokens` more can be evaluated (always with the ring).
  bool fits(int64_t n_tokens) const { return ring() || n_past_ + n_tokens <= kv_.n_slots; }
  // The largest chunk an overflowing batch runs in once the ring is full.
  int64_t overflow_chunk() const;

  void reset();
  // Forgets every position from n_keep on, so the next eval continues at n_keep (a conversation
  // whose text changed after that point). After an eviction only tokens the cache still holds
  // can be forgotten this way: see can_truncate.
  void truncate(int64_t n_keep);
  // Whether truncate(n_keep) is possible: always before the first eviction; after it, only when
  // the tokens from n_keep on are all still in the window (n_keep >= sinks + evicted()), or to
  // 0 (a reset). The
  // result is the ring as it was, minus its newest tokens (not what evaluating the first n_keep
  // tokens alone would give: more old tokens have been evicted).
  bool can_truncate(int64_t n_keep) const;
  // Prepares the one-token decode step ahead of time (kernel compilation happens here).
  void warm_up() { prepared(1, false); }

  // LoRA adapters of this session's model applied from the next eval on, each at its scale
  // (models/lora/lora_adapter.h). Nothing is uploaded: the steps are rebuilt around the
  // adapters' weights already on the device. The KV cache keeps what earlier evals wrote under
  // the previous adapters (llama.cpp does the same); reset() starts clean. Throws, changing
  // nothing, for an adapter of another model, a scale that is not finite, or an adapter listed
  // twice.
  void set_adapters(std::vector<AdapterUse> adapters);
  const std::vector<AdapterUse>& adapters() const { return adapters_; }

  // The cache's storages (tests inspect the layout; a saved session would read them).
  const KvStorage& kv() const { return kv_; }
  // Device bytes of the KV cache and of the prepared executables.
  size_t kv_bytes() const;
  size_t executable_bytes() const;
  size_t prepared_count() const { return prepared_.size(); }

 private:
  struct Prepared {
    StepGraph step;
    std::unique_ptr<Executable> executable;
  };
  Prepared& prepared(int64_t n_tokens, bool all_logits);
  // Evaluates one chunk that fits the cache after evicting at most its own length.
  std::vector<float> eval_chunk(std::span<const int32_t> tokens, bool all_logits);
  // The slot holding the token at cache position `pos` given the window's oldest slot `head`.
  int32_t slot_of(int64_t pos, int64_t head) const;

  const Model& model_;
  Backend& backend_;
  KvStorage kv_;
  int64_t sinks_ = 0;
  int64_t n_batch_ = 0;  // SessionOptions::n_batch
  int64_t n_past_ = 0;
  int64_t evicted_ = 0;  // window tokens overwritten since the last reset
  int64_t head_ = 0;     // the oldest window token's index in the window's slots [0, n_ctx - sinks)
  std::map<std::pair<int64_t, bool>, Prepared> prepared_;  // built with adapters_
  std::vector<AdapterUse> adapters_;
};

}  // namespace vkgraph::models
