#include "cli/bench/roofline.h"

namespace vkgraph::bench {
namespace {

double bytes_of(const models::WeightTensor& w) { return w.present() ? double(w.storage->bytes()) : 0.0; }

double elements_of(const models::WeightTensor& w) { return w.present() ? double(element_count(w.shape)) : 0.0; }

}  // namespace

TokenCost token_cost(const models::Model& model, DType kv_dtype) {
  const models::Hparams& hp = model.hparams();
  const models::ModelWeights& w = model.weights();
  TokenCost cost;
  for (const models::LayerWeights& l : w.layers) {
    for (const models::WeightTensor* t :
         {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm, &l.attn_post_norm,
          &l.ffn_norm, &l.ffn_post_norm, &l.w_gate, &l.w_up, &l.w_down}) {
      cost.weight_bytes += bytes_of(*t);
    }
    for (const models::WeightTensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      cost.matmul_params += elements_of(*t);
    }
  }
  cost.weight_bytes += bytes_of(w.output_norm);
  // The output matmul reads the whole [n_vocab, n_embd] matrix (the embedding itself when tied).
  cost.weight_bytes += bytes_of(w.output);
  cost.matmul_params += elements_of(w.output);
  if (hp.n_vocab > 0) cost.weight_bytes += bytes_of(w.tok_embd) / double(hp.n_vocab);
  cost.kv_bytes_per_position =
      2.0 * double(hp.n_layer) * double(row_bytes(kv_dtype, size_t(hp.n_head_kv * hp.head_dim)));
  cost.attention_flops_per_pair = 4.0 * double(hp.n_layer) * double(hp.n_head) * double(hp.head_dim);
  return cost;
}

double tg_bytes_per_token(const TokenCost& cost, int64_t depth, int64_t n_gen) {
  // Steps at positions depth .. depth+n_gen-1 attend depth+1 .. depth+n_gen positions.
  const double mean_positions = double(depth) + double(n_gen + 1) / 2.0;
  return cost.weight_bytes + cost.kv_bytes_per_position * mean_positions;
}

double pp_flops_per_token(const TokenCost& cost, int64_t depth, int64_t n_prompt) {
  const double mean_keys = double(depth) + double(n_prompt + 1) / 2.0;
  return 2.0 * cost.matmul_params + cost.attention_flops_per_pair * mean_keys;
}

}  // namespace vkgraph::bench
