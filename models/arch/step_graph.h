#pragma once
// Builds the engine graph of one forward step of a llama-family model: n_tokens new tokens
// against a KV cache of n_ctx slots. No backend code here: the graph is the whole description.

#include <vector>

#include "engine/graph/graph.h"
#include "models/arch/hparams.h"
#include "models/arch/kv_storage.h"
#include "models/arch/weights.h"

namespace vkgraph::models {

struct StepShape {
  int64_t n_tokens = 1;
  bool all_logits = false;  // logits for every token (prompt scoring) or only the last
  // The KV cache ring's layout: keys are written to the cache unrotated and attention rotates
  // key j at kv_pos[j] when it reads it (AttentionParams::rotate_keys), so a slot's position can
  // change from step to step (eviction renumbers the window) without rewriting the cache.
  // false: the plain cache, keys rotated at their position before the write.
  bool ring = false;
  // Every token's row computed exactly as a one-token step computes it (Graph::decode_rows):
  // speculative verification steps.
  bool decode_rows = false;
  // Embeddings: the output is every token's final hidden state after the output norm (what
  // llama.cpp pools), and the output projection is not built.
  bool hidden_states = false;
};

struct StepGraph {
  Graph graph;
  TensorId tokens;     // [n_tokens] i32
  TensorId positions;  // [n_tokens] i32: RoPE and causal positions (positions inside the cache)
  TensorId slots;      // [n_tokens] i32: cache slot each token's K/V is written to
  TensorId kv_pos;     // [n_slots] i32: position held by each slot after the writes, -1 if empty
  TensorId logits;     // [n_tokens or 1, n_vocab] f32; not built with StepShape::hidden_states
  TensorId hidden;     // [n_tokens, n_embd] f32, only with StepShape::hidden_states
};

StepGraph build_step_graph(const Hparams& hp, const ModelWeights& weights, const KvStorage& kv, const StepShape& shape);

}  // namespace vkgraph::models
