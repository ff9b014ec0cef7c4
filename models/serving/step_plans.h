#pragma once
// The batched engine's prepared steps: one executable per token bucket, all over the same paged
// KV pool, every one prepared at start (warm_up), so that no step after it waits on graph
// building, planning, lowering or pipeline compilation.
//
// Buckets are powers of two from kMinBucketTokens up to the step budget. A step of n tokens
// runs in the smallest bucket that holds it, padded. The smallest bucket has several tokens on
// purpose: every step, even one sequence's decode, then runs the same matrix-product kernels
// (backends pick their one-token kernels only for one token), and no one-token fusion applies;
// a token's arithmetic does not depend on how many share its step (batch invariance,
// docs/serving.md). Each bucket computes logits for min(bucket, table rows x outputs per row)
// tokens, at least two for the same reason; a row wants more than one output only when it
// verifies drafted tokens (speculative decoding: one per draft and one for its new token).

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/backend/backend.h"
#include "models/arch/kv_storage.h"
#include "models/arch/step_graph.h"
#include "models/model.h"
#include "models/serving/step_inputs.h"

namespace vkgraph::serving {

// The smallest step: 4 tokens. Two would already keep the matrix kernels, and the CPU-class
// matrix kernel computes 4 tokens per invocation anyway (engine/backend/vulkan/kernel_table.cpp:
// rows_tokens, 8 rows x 4 tokens), so a 4-token step costs what a 2-token one does.
inline constexpr int64_t kMinBucketTokens = 4;

// The buckets for a step budget: kMinBucketTokens, doubling, up to the first >= step_tokens.
std::vector<int64_t> step_buckets(int64_t step_tokens);

class StepPlans {
 public:
  // `kv`: the pool (block_size slots per block, the trash block included), shared by every
  // bucket; table_rows x max_blocks: the block table; outputs_per_row: 1 + the most drafted
  // tokens a sequence verifies in one step.
  StepPlans(const models::Model& model, Backend& backend, const models::KvStorage& kv, int64_t block_size,
            int64_t table_rows, int64_t max_blocks, int64_t step_tokens, int64_t outputs_per_row = 1);

  // Prepares every bucket not prepared yet; returns the seconds it took.
  double warm_up();
  size_t prepared_count() const;
  const std::vector<int64_t>& buckets() const { return buckets_; }

  // The layout of the bucket for `n_tokens` (the smallest that holds them).
  StepLayout layout(int64_t n_tokens, int32_t trash_block) const;
  // Sets the inputs, runs the step and returns the logits, [layout.n_outputs, n_vocab].
  const std::vector<float>& run(const StepLayout& layout, const StepInputs& inputs);

 private:
  struct Prepared {
    models::StepGraph step;
    std::unique_ptr<Executable> executable;
    int64_t n_tokens = 0, n_outputs = 0;
  };
  Prepared& prepared(int64_t bucket);
  int64_t bucket_for(int64_t n_tokens) const;

  const models::Model& model_;
  Backend& backend_;
  const models::KvStorage& kv_;
  int64_t block_size_, table_rows_, max_blocks_;
  std::vector<int64_t> buckets_;
  std::vector<Prepared> prepared_;  // by bucket index; executable null until prepared
  std::vector<float> logits_;
};

}  // namespace vkgraph::serving
