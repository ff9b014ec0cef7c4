#include "models/arch/blocks.h"

#include <fmt/format.h>

#include "engine/graph/freq_factors.h"

namespace vkgraph::models::arch {

StepBuilder::StepBuilder(const Hparams& hparams, const ModelWeights& weights, const KvStorage& kv_storage,
                         const StepShape& step_shape, std::span<const AdapterUse> adapters)
    : hp(hparams),
      w(weights),
      kv(kv_storage),
      shape(step_shape),
      lora(adapters),
      g(step.graph),
      m(step_shape.n_tokens) {
  // Verification steps of speculative decoding: every row computed as a one-token step does.
  g.set_decode_rows(shape.decode_rows);
  step.tokens = g.input("tokens", DType::I32, {m});
  step.positions = g.input("positions", DType::I32, {m});
  step.slots = g.input("slots", DType::I32, {m});
  if (paged()) {
    step.block_table = g.input("block_table", DType::I32, {shape.paged_table_rows, shape.paged_max_blocks});
    step.seq_rows = g.input("seq_rows", DType::I32, {m});
    step.logit_rows = g.input("logit_rows", DType::I32, {shape.paged_outputs});
  } else {
    step.kv_pos = g.input("kv_pos", DType::I32, {kv.n_slots});
  }
  rope_factors = rope_factors_for_context();
}

TensorId StepBuilder::rope_factors_for_context() {
  if (w.rope_freqs.present()) return weight(w.rope_freqs);
  if (!w.rope_factors_long.present()) return TensorId{};
  // LongRoPE as llama.cpp chooses it: by the context one sequence may fill (its n_ctx_seq), not
  // by the positions of this step.
  const int64_t context = shape.context > 0 ? shape.context
                          : paged()         ? shape.paged_max_blocks * shape.paged_block_size
                                            : kv.n_slots;
  return weight(context > hp.rope_original_context ? w.rope_factors_long : w.rope_factors_short);
}

TensorId StepBuilder::weight(const WeightTensor& t) { return weight_leaf(g, t); }

TensorId StepBuilder::embeddings() { return g.name(g.get_rows(weight(w.tok_embd), step.tokens), "embd"); }

TensorId StepBuilder::norm(TensorId x, const WeightTensor& weight_of_norm) {
  return g.mul(g.rms_norm(x, hp.rms_eps), weight(weight_of_norm));
}

TensorId StepBuilder::head_norm(TensorId x, const WeightTensor& weight_of_norm, int64_t n_heads) {
  const TensorId heads = g.reshape(x, {m, n_heads, hp.head_dim});
  return g.mul(g.rms_norm(heads, hp.rms_eps), weight(weight_of_norm));
}

TensorId StepBuilder::project(const WeightTensor& matrix, TensorId x, const WeightTensor* bias) {
  const TensorId y = models::project(g, matrix, x, lora);
  return bias != nullptr ? g.add(y, weight(*bias)) : y;
}

TensorId StepBuilder::attention(int64_t il, TensorId q, TensorId k, TensorId v, const RopeParams& rope,
                                AttentionParams params) {
  const int64_t d = hp.head_dim;
  // Every rotation takes the file's frequency factors: q, k before the write, and the keys the
  // ring rotates as attention reads them.
  q = with_freq_factors(g, g.rope(g.reshape(q, {m, hp.n_head, d}), step.positions, rope), rope_factors);
  // rope.scaling.attn_factor: llama.cpp scales the rotated dimensions of q and of k by it. Every
  // score then gains its square on those dimensions, and so it does with q alone carrying the
  // square: the keys (cached, perhaps rotated again at read) stay exactly as without the factor.
  if (w.rope_attn_scale.present()) q = g.mul(q, weight(w.rope_attn_scale));
  k = g.reshape(k, {m, hp.n_head_kv, d});
  if (!shape.ring) k = with_freq_factors(g, g.rope(k, step.positions, rope), rope_factors);
  v = g.reshape(v, {m, hp.n_head_kv, d});

  const Shape cache_shape{kv.n_slots, hp.n_head_kv, d};
  const TensorId k_cache = g.state(fmt::format("cache_k.{}", il), kv.dtype, cache_shape, kv.k[size_t(il)]);
  const TensorId v_cache = g.state(fmt::format("cache_v.{}", il), kv.dtype, cache_shape, kv.v[size_t(il)]);
  const TensorId k_all = g.kv_write(k_cache, k, step.slots);
  const TensorId v_all = g.kv_write(v_cache, v, step.slots);

  if (paged()) {
    // The paged pool stores keys rotated (no ring), so the factors were applied above.
    params.block_size = int32_t(shape.paged_block_size);
    const TensorId out = g.paged_attention(q, k_all, v_all, step.block_table, step.seq_rows, step.positions, params);
    return g.reshape(out, {m, hp.n_head * d});
  }
  params.rotate_keys = shape.ring;
  params.key_rope = rope;
  TensorId k_seen = k_all, v_seen = v_all, kv_pos_seen = step.kv_pos;
  if (shape.kv_extent > 0 && shape.kv_extent < kv.n_slots) {
    k_seen = g.rows(k_all, 0, shape.kv_extent);
    v_seen = g.rows(v_all, 0, shape.kv_extent);
    kv_pos_seen = g.rows(step.kv_pos, 0, shape.kv_extent);
  }
  const TensorId out = with_freq_factors(g, g.attention(q, k_seen, v_seen, step.positions, kv_pos_seen, params),
                                         shape.ring ? rope_factors : TensorId{});
  return g.reshape(out, {m, hp.n_head * d});
}

TensorId StepBuilder::swiglu_ffn(const WeightTensor& gate, const WeightTensor& up, const WeightTensor& down,
                                 TensorId x) {
  return project(down, g.swiglu(project(gate, x), project(up, x)));
}

TensorId StepBuilder::geglu_ffn(const WeightTensor& gate, const WeightTensor& up, const WeightTensor& down,
                                TensorId x) {
  return project(down, g.mul(g.gelu(project(gate, x)), project(up, x)));
}

StepGraph StepBuilder::finish(TensorId x) {
  const bool last_row_only = !shape.all_logits && !shape.hidden_states;
  if (paged()) {
    x = g.get_rows(x, step.logit_rows);  // the last token of each sequence's chunk
  } else if (last_row_only && m > 1) {
    x = g.rows(x, m - 1, 1);  // only the last token is sampled
  }
  x = norm(x, w.output_norm);
  if (shape.hidden_states) {
    step.hidden = g.name(x, "hidden");
    g.mark_output(step.hidden);
  } else {
    TensorId logits = project(w.output, x);
    if (hp.final_softcap > 0.0f) logits = g.softcap(logits, hp.final_softcap);
    step.logits = g.name(logits, "logits");
    g.mark_output(step.logits);
  }
  return std::move(step);
}

}  // namespace vkgraph::models::arch
