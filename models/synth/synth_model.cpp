#include "models/synth/synth_model.h"

#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "engine/core/error.h"
#include "models/gguf/gguf_writer.h"
#include "models/synth/synth_tensors.h"
#include "models/synth/synth_vocab.h"

namespace vkgraph::models {

void write_synthetic_model(const Preset& p, const SynthOptions& o, const std::string& path) {
  const int64_t n_layer = o.n_layer > 0 ? o.n_layer : p.n_layer;
  const SynthVocab vocab =
      o.tokenizer_json.empty() ? placeholder_vocab(p.n_vocab) : vocab_from_tokenizer_json(o.tokenizer_json, p.n_vocab);
  gguf::GgufWriter w;
  const std::string a = p.arch + ".";
  w.set_string("general.architecture", p.arch);
  w.set_string("general.name", fmt::format("{} (synthetic, {})", p.name, dtype_name(o.weight_type)));
  w.set_u32("general.file_type", o.weight_type == DType::F32    ? 0
                                 : o.weight_type == DType::F16  ? 1
                                 : o.weight_type == DType::Q4_0 ? 2
                                                                : 7);
  w.set_u32(a + "context_length", uint32_t(p.n_ctx));
  w.set_u32(a + "embedding_length", uint32_t(p.n_embd));
  w.set_u32(a + "block_count", uint32_t(n_layer));
  w.set_u32(a + "feed_forward_length", uint32_t(p.n_ff));
  w.set_u32(a + "attention.head_count", uint32_t(p.n_head));
  w.set_u32(a + "attention.head_count_kv", uint32_t(p.n_head_kv));
  if (p.head_dim * p.n_head != p.n_embd) {
    w.set_u32(a + "attention.key_length", uint32_t(p.head_dim));
    w.set_u32(a + "attention.value_length", uint32_t(p.head_dim));
  }
  w.set_u32(a + "rope.dimension_count", uint32_t(p.head_dim));
  w.set_f32(a + "rope.freq_base", p.rope_base);
  w.set_f32(a + "attention.layer_norm_rms_epsilon", p.rms_eps);
  if (p.sliding_window > 0) w.set_u32(a + "attention.sliding_window", uint32_t(p.sliding_window));
  write_vocab(w, vocab);

  const DType t = o.weight_type;
  const int64_t e = p.n_embd, q = p.n_head * p.head_dim, kv = p.n_head_kv * p.head_dim;
  // Standard deviations keep activations of order one through the layers, so the logits are
  // finite and varied: 1/sqrt(fan_in) for projections.
  const auto sd = [](int64_t fan_in) { return 1.0f / std::sqrt(float(fan_in)); };
  synth::TensorMaker make(w, o.seed);
  make.matrix("token_embd.weight", t, p.n_vocab, e, 1.0f);
  for (int64_t il = 0; il < n_layer; ++il) {
    const auto n = [il](const char* s) { return fmt::format("blk.{}.{}", il, s); };
    make.vector(n("attn_norm.weight"), e, 1.0f, 0.1f);
    make.matrix(n("attn_q.weight"), t, q, e, sd(e));
    make.matrix(n("attn_k.weight"), t, kv, e, sd(e));
    make.matrix(n("attn_v.weight"), t, kv, e, sd(e));
    if (p.arch == "qwen2") {
      make.vector(n("attn_q.bias"), q, 0.0f, 0.1f);
      make.vector(n("attn_k.bias"), kv, 0.0f, 0.1f);
      make.vector(n("attn_v.bias"), kv, 0.0f, 0.1f);
    }
    if (p.arch == "qwen3") {
      make.vector(n("attn_q_norm.weight"), p.head_dim, 1.0f, 0.1f);
      make.vector(n("attn_k_norm.weight"), p.head_dim, 1.0f, 0.1f);
    }
    make.matrix(n("attn_output.weight"), t, e, q, sd(q));
    make.vector(n("ffn_norm.weight"), e, 1.0f, 0.1f);
    make.matrix(n("ffn_gate.weight"), t, p.n_ff, e, sd(e));
    make.matrix(n("ffn_up.weight"), t, p.n_ff, e, sd(e));
    make.matrix(n("ffn_down.weight"), t, e, p.n_ff, sd(p.n_ff));
  }
  make.vector("output_norm.weight", e, 1.0f, 0.1f);
  if (!p.tied_output) make.matrix("output.weight", t, p.n_vocab, e, sd(e));
  w.write(path);
}

}  // namespace vkgraph::models
