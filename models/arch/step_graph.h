#pragma once
// Builds the engine graph of one forward step of a llama-family model: n_tokens new tokens
// against a KV cache of n_ctx slots, or (StepShape::paged) the tokens of several sequences
// against a paged cache. No backend code here: the graph is the whole description.

#include <span>
#include <vector>

#include "engine/graph/graph.h"
#include "models/arch/hparams.h"
#include "models/arch/kv_storage.h"
#include "models/arch/projection.h"
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
  // The paged cache of the batched serving engine (models/serving/): `kv` is a pool of blocks of
  // paged_block_size slots, each token attends to its own sequence's blocks through the block
  // table (paged_attention), and only the tokens named by logit_rows reach the output norm and
  // projection. 0: the cache of one sequence (plain or ring).
  int64_t paged_block_size = 0;
  int64_t paged_table_rows = 0;  // sequences the block table holds
  int64_t paged_max_blocks = 0;  // blocks per sequence (its context / block size, rounded up)
  int64_t paged_outputs = 0;     // rows of logits: tokens named by logit_rows
  // The context one sequence may fill (llama.cpp's n_ctx_seq), which picks LongRoPE's factor set;
  // 0: the cache's slots (a paged sequence: its row of the block table). A session's ring has
  // spare slots past its context, so it says.
  int64_t context = 0;
  // The cache slots attention reads, from slot 0 (0: all of them): a session's one-token and
  // verification steps while its tokens hold only the first slots of a large cache, so that
  // decode walks what is filled rather than the whole ring (Session::step_key). Every slot the
  // step writes or sees must lie below it.
  int64_t kv_extent = 0;
};

struct StepGraph {
  Graph graph;
  TensorId tokens;     // [n_tokens] i32
  TensorId positions;  // [n_tokens] i32: RoPE and causal positions (positions inside the cache)
  TensorId slots;      // [n_tokens] i32: cache slot each token's K/V is written to
  TensorId kv_pos;     // [n_slots] i32: position held by each slot after the writes, -1 if empty (not paged)
  // Paged only: [table_rows, max_blocks] i32 block ids (-1: none), [n_tokens] i32 each token's
  // table row (-1: padding, sees nothing), [outputs] i32 the tokens whose logits are computed.
  TensorId block_table, seq_rows, logit_rows;
  TensorId logits;  // [n_tokens, 1 or paged_outputs, n_vocab] f32; not built with StepShape::hidden_states
  TensorId hidden;  // [n_tokens, n_embd] f32, only with StepShape::hidden_states
};

// `lora`: the adapters applied to every matrix they adapt (models/arch/projection.h).
StepGraph build_step_graph(const Hparams& hp, const ModelWeights& weights, const KvStorage& kv, const StepShape& shape,
                           std::span<const AdapterUse> lora = {});

}  // namespace vkgraph::models
