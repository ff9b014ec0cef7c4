// The llama family (llama, mistral): x += attn(norm(x)); x += ffn(norm(x)), RoPE in the normal
// (adjacent pairs) layout, SwiGLU feed-forward; mistral's window comes from the file.
#include <fmt/format.h>
#include <cmath>

#include "models/arch/blocks.h"
#include "models/arch/builders.h"

namespace vkgraph::models::arch {

StepGraph build_llama_step(const Hparams& hp, const ModelWeights& w, const KvStorage& kv, const StepShape& shape,
                           std::span<const AdapterUse> lora) {
  StepBuilder b(hp, w, kv, shape, lora);
  Graph& g = b.g;
  AttentionParams attn;
  attn.scale = 1.0f / std::sqrt(float(hp.head_dim));

  TensorId x = b.embeddings();  // [m, n_embd]
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& L = w.layers[size_t(il)];
    attn.window = hp.layers[size_t(il)].window;  // mistral's, from the file
    const TensorId normed = b.norm(x, L.attn_norm);
    const TensorId q = b.project(L.wq, normed);  // [m, n_head * d]
    const TensorId k = b.project(L.wk, normed);  // [m, n_head_kv * d]
    const TensorId v = b.project(L.wv, normed);
    const TensorId heads = b.attention(il, q, k, v, hp.layers[size_t(il)].rope, attn);
    x = g.name(g.add(x, b.project(L.wo, heads)), fmt::format("attn_res.{}", il));
    const TensorId down = b.swiglu_ffn(L.w_gate, L.w_up, L.w_down, b.norm(x, L.ffn_norm));
    x = g.name(g.add(x, down), fmt::format("ffn_res.{}", il));
  }
  return b.finish(x);
}

}  // namespace vkgraph::models::arch
