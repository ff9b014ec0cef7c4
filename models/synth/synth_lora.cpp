#include "models/synth/synth_lora.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "models/gguf/gguf_writer.h"
#include "models/synth/synth_tensors.h"

namespace vkgraph::models {

const std::vector<std::string>& lora_target_names() {
  static const std::vector<std::string> names{"attn_q",   "attn_k", "attn_v",  "attn_output",
                                              "ffn_gate", "ffn_up", "ffn_down"};
  return names;
}

void write_synthetic_lora(const Preset& p, const SynthLoraOptions& o, const std::string& path) {
  const int64_t n_layer = o.n_layer > 0 ? o.n_layer : p.n_layer;
  const int64_t r = o.rank;
  VKGRAPH_CHECK(r >= 1 && r <= 4096, "LoRA rank {} is out of range (expected 1 to 4096)", r);
  VKGRAPH_CHECK(std::isfinite(o.alpha), "LoRA alpha {} is not a finite number", o.alpha);
  VKGRAPH_CHECK(o.type == DType::F32 || o.type == DType::F16 || o.type == DType::Q8_0,
                "a synthetic adapter is f32, f16 or q8_0 (got {})", dtype_name(o.type));
  VKGRAPH_CHECK(!o.targets.empty(), "a synthetic adapter needs at least one target (of {})",
                fmt::join(lora_target_names(), ", "));
  const int64_t e = p.n_embd, q = p.n_head * p.head_dim, kv = p.n_head_kv * p.head_dim;
  // [n_out, n_in] of each target.
  const auto dims = [&](const std::string& t) -> std::pair<int64_t, int64_t> {
    if (t == "attn_q") return {q, e};
    if (t == "attn_k" || t == "attn_v") return {kv, e};
    if (t == "attn_output") return {e, q};
    if (t == "ffn_gate" || t == "ffn_up") return {p.n_ff, e};
    if (t == "ffn_down") return {e, p.n_ff};
    fail("unknown LoRA target '{}' (known: {})", t, fmt::join(lora_target_names(), ", "));
  };
  for (const std::string& t : o.targets) dims(t);  // every name checked before writing

  gguf::GgufWriter w;
  w.set_string("general.architecture", p.arch);
  w.set_string("general.type", "adapter");
  w.set_string("general.name", fmt::format("{} LoRA r{} (synthetic)", p.name, r));
  w.set_string("adapter.type", "lora");
  w.set_f32("adapter.lora.alpha", o.alpha);
  synth::TensorMaker make(w, o.seed);
  for (int64_t il = 0; il < n_layer; ++il) {
    for (const std::string& t : o.targets) {
      const auto [n_out, n_in] = dims(t);
      const std::string base = fmt::format("blk.{}.{}.weight", il, t);
      // A as LoRA initializes it (1/sqrt(n_in)); B small, so with factor alpha / r = 2 the
      // adapter moves each product by about a fifth of its size: visible, not dominant.
      make.matrix(base + ".lora_a", o.type, r, n_in, 1.0f / std::sqrt(float(n_in)));
      make.matrix(base + ".lora_b", o.type, n_out, r, 0.1f / std::sqrt(float(r)));
    }
  }
  w.write(path);
}

}  // namespace vkgraph::models
