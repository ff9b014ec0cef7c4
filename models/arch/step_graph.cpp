#include "models/arch/step_graph.h"

#include <fmt/format.h>
#include <cmath>

namespace vkgraph::models {
namespace {

TensorId weight(Graph& g, const WeightTensor& w) { return g.weight(w.name, w.dtype, w.shape, w.storage); }

// x: [m, n_heads * head_dim] -> per-head RMSNorm with a [head_dim] weight (qwen3's q/k norm).
TensorId head_norm(Graph& g, TensorId x, const WeightTensor& w, int64_t m, int64_t n_heads, const Hparams& hp) {
  const TensorId heads = g.reshape(x, {m, n_heads, hp.head_dim});
  return g.mul(g.rms_norm(heads, hp.rms_eps), weight(g, w));
}

}  // namespace

StepGraph build_step_graph(const Hparams& hp, const ModelWeights& w, const KvStorage& kv, const StepShape& shape,
                           std::span<const AdapterUse> lora) {
  StepGraph step;
  Graph& g = step.graph;
  g.set_decode_rows(shape.decode_rows);
  const int64_t m = shape.n_tokens;
  const int64_t d = hp.head_dim;
  step.tokens = g.input("tokens", DType::I32, {m});
  step.positions = g.input("positions", DType::I32, {m});
  step.slots = g.input("slots", DType::I32, {m});
  const bool paged = shape.paged_block_size > 0;
  if (paged) {
    step.block_table = g.input("block_table", DType::I32, {shape.paged_table_rows, shape.paged_max_blocks});
    step.seq_rows = g.input("seq_rows", DType::I32, {m});
    step.logit_rows = g.input("logit_rows", DType::I32, {shape.paged_outputs});
  } else {
    step.kv_pos = g.input("kv_pos", DType::I32, {kv.n_slots});
  }

  AttentionParams attn;
  attn.scale = 1.0f / std::sqrt(float(d));
  attn.window = hp.sliding_window;
  attn.rotate_keys = shape.ring;
  attn.key_rope = hp.rope;
  attn.block_size = int32_t(shape.paged_block_size);

  // x: [m, n_embd]
  TensorId x = g.name(g.get_rows(weight(g, w.tok_embd), step.tokens), "embd");
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& L = w.layers[size_t(il)];
    const TensorId normed = g.mul(g.rms_norm(x, hp.rms_eps), weight(g, L.attn_norm));

    TensorId q = project(g, L.wq, normed, lora);  // [m, n_head * d]
    TensorId k = project(g, L.wk, normed, lora);  // [m, n_head_kv * d]
    TensorId v = project(g, L.wv, normed, lora);
    if (hp.qkv_bias) {
      q = g.add(q, weight(g, L.bq));
      k = g.add(k, weight(g, L.bk));
      v = g.add(v, weight(g, L.bv));
    }
    if (hp.qk_norm) {
      q = head_norm(g, q, L.q_norm, m, hp.n_head, hp);
      k = head_norm(g, k, L.k_norm, m, hp.n_head_kv, hp);
    }
    q = g.rope(g.reshape(q, {m, hp.n_head, d}), step.positions, hp.rope);
    k = g.reshape(k, {m, hp.n_head_kv, d});
    if (!shape.ring) k = g.rope(k, step.positions, hp.rope);  // the ring rotates keys in attention
    v = g.reshape(v, {m, hp.n_head_kv, d});

    const Shape cache_shape{kv.n_slots, hp.n_head_kv, d};
    const TensorId k_cache = g.state(fmt::format("cache_k.{}", il), kv.dtype, cache_shape, kv.k[size_t(il)]);
    const TensorId v_cache = g.state(fmt::format("cache_v.{}", il), kv.dtype, cache_shape, kv.v[size_t(il)]);
    const TensorId k_all = g.kv_write(k_cache, k, step.slots);
    const TensorId v_all = g.kv_write(v_cache, v, step.slots);

    // attn: [m, n_head, d] -> [m, n_head * d]
    const TensorId attn_out =
        paged ? g.paged_attention(q, k_all, v_all, step.block_table, step.seq_rows, step.positions, attn)
              : g.attention(q, k_all, v_all, step.positions, step.kv_pos, attn);
    const TensorId proj = project(g, L.wo, g.reshape(attn_out, {m, hp.n_head * d}), lora);
    x = g.name(g.add(x, proj), fmt::format("attn_res.{}", il));

    const TensorId ffn_in = g.mul(g.rms_norm(x, hp.rms_eps), weight(g, L.ffn_norm));
    const TensorId gate = project(g, L.w_gate, ffn_in, lora);  // [m, n_ff]
    const TensorId up = project(g, L.w_up, ffn_in, lora);
    const TensorId down = project(g, L.w_down, g.swiglu(gate, up), lora);  // [m, n_embd]
    x = g.name(g.add(x, down), fmt::format("ffn_res.{}", il));
  }
  const bool last_row_only = !shape.all_logits && !shape.hidden_states;
  if (paged) {
    x = g.get_rows(x, step.logit_rows);  // the last token of each sequence's chunk
  } else if (last_row_only && m > 1) {
    x = g.rows(x, m - 1, 1);  // only the last token is sampled
  }
  x = g.mul(g.rms_norm(x, hp.rms_eps), weight(g, w.output_norm));
  if (shape.hidden_states) {
    step.hidden = g.name(x, "hidden");
    g.mark_output(step.hidden);
    return step;
  }
  step.logits = g.name(project(g, w.output, x, lora), "logits");
  g.mark_output(step.logits);
  return step;
}

}  // namespace vkgraph::models
