// The Gemma families (gemma2, gemma3 text), as llama.cpp builds them: token embeddings scaled by
// sqrt(n_embd); four RMSNorms per layer (before and after attention, before and after the
// feed-forward); GeGLU (tanh-form GELU of the gate, times up); q scaled by the file's query
// scale before its dot products; local layers with a sliding window and their own RoPE base
// next to global ones (hp.layers); NeoX rotation. Gemma 2 soft-caps attention scores and final
// logits; Gemma 3 norms each head of q and k before RoPE and caps logits only if the file says.
#include <fmt/format.h>
#include <cmath>

#include "models/arch/blocks.h"
#include "models/arch/builders.h"

namespace vkgraph::models::arch {

StepGraph build_gemma_step(const Hparams& hp, const ModelWeights& w, const KvStorage& kv, const StepShape& shape,
                           std::span<const AdapterUse> lora) {
  StepBuilder b(hp, w, kv, shape, lora);
  Graph& g = b.g;

  TensorId x = g.scale(b.embeddings(), std::sqrt(float(hp.n_embd)));  // [m, n_embd]
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& L = w.layers[size_t(il)];
    const LayerHparams& layer = hp.layers[size_t(il)];
    AttentionParams attn;
    // llama.cpp multiplies q by the query scale and gives attention a scale of 1; the product
    // is the same score, and the soft-cap applies to it.
    attn.scale = hp.query_scale;
    attn.window = layer.window;
    attn.softcap = hp.attn_softcap;

    const TensorId normed = b.norm(x, L.attn_norm);
    TensorId q = b.project(L.wq, normed);  // [m, n_head * d]
    TensorId k = b.project(L.wk, normed);  // [m, n_head_kv * d]
    const TensorId v = b.project(L.wv, normed);
    if (hp.qk_norm) {  // gemma3
      q = b.head_norm(q, L.q_norm, hp.n_head);
      k = b.head_norm(k, L.k_norm, hp.n_head_kv);
    }
    const TensorId heads = b.attention(il, q, k, v, layer.rope, attn);
    const TensorId attn_out = b.norm(b.project(L.wo, heads), L.attn_post_norm);
    x = g.name(g.add(x, attn_out), fmt::format("attn_res.{}", il));
    const TensorId ffn_out = b.norm(b.geglu_ffn(L.w_gate, L.w_up, L.w_down, b.norm(x, L.ffn_norm)), L.ffn_post_norm);
    x = g.name(g.add(x, ffn_out), fmt::format("ffn_res.{}", il));
  }
  return b.finish(x);
}

}  // namespace vkgraph::models::arch
