#pragma once
// A model's weight tensors as they live on a backend, in the graph's shape convention.

#include <memory>
#include <string>
#include <vector>

#include "engine/graph/graph.h"

namespace vkgraph::models {

struct WeightTensor {
  std::string name;  // the GGUF tensor name
  DType dtype = DType::F32;
  Shape shape;  // outermost first: a projection is [n_out, n_in]
  std::shared_ptr<Storage> storage;
  bool present() const { return storage != nullptr; }
};

struct LayerWeights {
  WeightTensor attn_norm;       // [n_embd]
  WeightTensor wq, wk, wv, wo;  // [n_head*d, n_embd], [n_kv*d, n_embd] x2, [n_embd, n_head*d]
  WeightTensor bq, bk, bv;      // qwen2: [n_head*d], [n_kv*d], [n_kv*d]
  WeightTensor q_norm, k_norm;  // qwen3: [head_dim]
  WeightTensor attn_post_norm;  // gemma: [n_embd], of the attention's output
  WeightTensor ffn_norm;        // [n_embd]
  WeightTensor ffn_post_norm;   // gemma: [n_embd], of the FFN's output
  WeightTensor w_gate, w_up;    // [n_ff, n_embd]
  WeightTensor w_down;          // [n_embd, n_ff]
};

struct ModelWeights {
  WeightTensor tok_embd;     // [n_vocab, n_embd]
  WeightTensor output_norm;  // [n_embd]
  WeightTensor output;       // [n_vocab, n_embd]; the same storage as tok_embd when tied
  WeightTensor rope_freqs;   // Llama 3.1+: [n_rot/2] RoPE frequency factors of every layer; optional
  // LongRoPE (Phi-3.5, Phi-4-mini): [n_rot/2] factor sets for contexts longer than
  // Hparams::rope_original_context and for the others; optional, both or neither.
  WeightTensor rope_factors_long, rope_factors_short;
  // Not in the file: [head_dim] f32, Hparams::rope_attn_factor squared on the rotated dimensions
  // and 1 on the others, multiplied into q (present only when the factor is not 1). See
  // StepBuilder::attention for why q alone carries the square.
  WeightTensor rope_attn_scale;
  std::vector<LayerWeights> layers;
};

// Calls fn(WeightTensor&) on every weight field of `w` (ModelWeights, const or not), absent
// optional ones included (empty name): the one list of the fields, for loading and adapters.
template <typename Weights, typename Fn>
void for_each_weight(Weights& w, Fn&& fn) {
  fn(w.tok_embd);
  fn(w.output_norm);
  fn(w.output);
  fn(w.rope_freqs);
  fn(w.rope_factors_long);
  fn(w.rope_factors_short);
  fn(w.rope_attn_scale);
  for (auto& L : w.layers) {
    for (auto* t : {&L.attn_norm, &L.wq, &L.wk, &L.wv, &L.wo, &L.bq, &L.bk, &L.bv, &L.q_norm, &L.k_norm,
                    &L.attn_post_norm, &L.ffn_norm, &L.ffn_post_norm, &L.w_gate, &L.w_up, &L.w_down}) {
      fn(*t);
    }
  }
}

}  // namespace vkgraph::models
