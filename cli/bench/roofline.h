#pragma once
// The work a llama-family step must do, from the model's weights and shapes: the bytes a decode
// token reads (for tg rows' effective bandwidth) and the FLOPs a prompt costs (pp rows).

#include <cstdint>

#include "engine/core/dtype.h"
#include "models/model.h"

namespace vkgraph::bench {

struct TokenCost {
  // Weight bytes one decode token reads: every matrix, norm and bias once, plus one row of the
  // token embedding (a lookup; when the output is tied to it, the output matmul reads it whole).
  double weight_bytes = 0.0;
  // K and V bytes of one cached position, all layers.
  double kv_bytes_per_position = 0.0;
  // Parameters that take part in matmuls (each is one multiply-add per token).
  double matmul_params = 0.0;
  // FLOPs of one (query, key) pair over all layers and heads: q.k and p*v, 2 x head_dim each.
  double attention_flops_per_pair = 0.0;
};

TokenCost token_cost(const models::Model& model, DType kv_dtype);

// Average bytes read per token over n_gen decode steps after `depth` cached positions: the
// step at position p attends p + 1 positions (its own K/V included).
double tg_bytes_per_token(const TokenCost& cost, int64_t depth, int64_t n_gen);

// Average FLOPs per token of an n_prompt batch after `depth` positions: 2 x matmul params, plus
// attention over the causal pairs (query i sees depth + i + 1 keys). Sliding windows, norms and
// element-wise ops are not counted (they are under 1% of a llama step).
double pp_flops_per_token(const TokenCost& cost, int64_t depth, int64_t n_prompt);

}  // namespace vkgraph::bench
