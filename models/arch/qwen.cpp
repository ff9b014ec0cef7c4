// The Qwen families: Qwen2/2.5 (biases on q, k and v) and Qwen3 (per-head RMSNorm of q and k
// before RoPE). Both rotate in the NeoX layout (halves), as their files keep Hugging Face's
// q/k order; blocks are otherwise llama's.
#include <fmt/format.h>
#include <cmath>

#include "models/arch/blocks.h"
#include "models/arch/builders.h"

namespace vkgraph::models::arch {

StepGraph build_qwen2_step(const Hparams& hp, const ModelWeights& w, const KvStorage& kv, const StepShape& shape,
                           std::span<const AdapterUse> lora) {
  StepBuilder b(hp, w, kv, shape, lora);
  Graph& g = b.g;
  AttentionParams attn;
  attn.scale = 1.0f / std::sqrt(float(hp.head_dim));

  TensorId x = b.embeddings();  // [m, n_embd]
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& L = w.layers[size_t(il)];
    const TensorId normed = b.norm(x, L.attn_norm);
    const TensorId q = b.project(L.wq, normed, &L.bq);
    const TensorId k = b.project(L.wk, normed, &L.bk);
    const TensorId v = b.project(L.wv, normed, &L.bv);
    const TensorId heads = b.attention(il, q, k, v, hp.layers[size_t(il)].rope, attn);
    x = g.name(g.add(x, b.project(L.wo, heads)), fmt::format("attn_res.{}", il));
    const TensorId down = b.swiglu_ffn(L.w_gate, L.w_up, L.w_down, b.norm(x, L.ffn_norm));
    x = g.name(g.add(x, down), fmt::format("ffn_res.{}", il));
  }
  return b.finish(x);
}

StepGraph build_qwen3_step(const Hparams& hp, const ModelWeights& w, const KvStorage& kv, const StepShape& shape,
                           std::span<const AdapterUse> lora) {
  StepBuilder b(hp, w, kv, shape, lora);
  Graph& g = b.g;
  AttentionParams attn;
  attn.scale = 1.0f / std::sqrt(float(hp.head_dim));

  TensorId x = b.embeddings();  // [m, n_embd]
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& L = w.layers[size_t(il)];
    const TensorId normed = b.norm(x, L.attn_norm);
    const TensorId q = b.head_norm(b.project(L.wq, normed), L.q_norm, hp.n_head);
    const TensorId k = b.head_norm(b.project(L.wk, normed), L.k_norm, hp.n_head_kv);
    const TensorId v = b.project(L.wv, normed);
    const TensorId heads = b.attention(il, q, k, v, hp.layers[size_t(il)].rope, attn);
    x = g.name(g.add(x, b.project(L.wo, heads)), fmt::format("attn_res.{}", il));
    const TensorId down = b.swiglu_ffn(L.w_gate, L.w_up, L.w_down, b.norm(x, L.ffn_norm));
    x = g.name(g.add(x, down), fmt::format("ffn_res.{}", il));
  }
  return b.finish(x);
}

}  // namespace vkgraph::models::arch
