#pragma once
// Writes a LoRA adapter for a preset's shapes with deterministic random pairs, in llama.cpp's
// GGUF adapter format (models/lora/lora_file.h), for benchmarks of unmerged adapters without a
// trained one.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "models/synth/presets.h"

namespace vkgraph::models {

struct SynthLoraOptions {
  int64_t rank = 8;
  float alpha = 16.0f;      // the common choice alpha = 2 r for r = 8
  DType type = DType::F16;  // of A and B: f32, f16 or q8_0 (q8_0 needs a rank of 32's multiple)
  std::vector<std::string> targets{"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
  uint64_t seed = 1;
  int64_t n_layer = 0;  // 0: the preset's (must match the model's)
};

// The targets a preset's layers have: attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up,
// ffn_down (QLoRA's "all linear layers"; PEFT's default for llama is attn_q and attn_v).
const std::vector<std::string>& lora_target_names();

void write_synthetic_lora(const Preset& preset, const SynthLoraOptions& options, const std::string& path);

}  // namespace vkgraph::models
