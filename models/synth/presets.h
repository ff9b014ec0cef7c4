#pragma once
// Shapes of real models, for synthetic GGUF files with random weights (`vkgraph synth`).
// Speed does not depend on weight values, so these stand in for the real models in benchmarks
// on machines that cannot download them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vkgraph::models {

struct Preset {
  std::string name;
  std::string arch;  // llama, qwen2, qwen3, mistral, phi3, gemma2, gemma3
  int64_t n_vocab, n_ctx, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
  float rope_base;
  float rms_eps;
  bool tied_output;
  int32_t sliding_window = 0;            // mistral: every layer's; gemma: the local layers'
  std::string tokenizer_kind = "llama";  // what the real model uses: "llama" (SentencePiece) or "gpt2"
  std::string pre;                       // gpt2 pre-tokenizer name
  // Llama 3.1+ RoPE scaling (rope_freqs.weight, as its converter computes it from config.json's
  // rope_scaling: this factor, low_freq_factor 1, high_freq_factor 4, original context 8192,
  // the values of every Llama 3.1/3.2/3.3 release); 0: none.
  float llama3_rope_factor = 0.0f;
  // LongRoPE (Phi-3.5, Phi-4-mini): the original context of rope_factors_long/short (synthetic
  // factor values) and of the attention factor derived from n_ctx / it; 0: none.
  int64_t longrope_original_context = 0;
};

const std::vector<Preset>& presets();
const Preset& find_preset(std::string_view name);  // throws listing the presets

}  // namespace vkgraph::models
