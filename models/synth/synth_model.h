#pragma once
// Writes a GGUF model of a preset's shapes with deterministic random weights.

#include <cstdint>
#include <string>

#include "engine/core/dtype.h"
#include "models/synth/presets.h"

namespace vkgraph::models {

struct SynthOptions {
  // Projections and embeddings: a quantization scheme (models/quant_scheme.h), so q4_k_m gives
  // llama.cpp's mix of types with its fallbacks for rows that do not fill 256-element blocks.
  // Norms stay f32.
  std::string weights = "f16";
  std::string tokenizer_json;  // a Hugging Face tokenizer.json for a real vocabulary (byte-level BPE)
  // A GGUF model whose vocabulary (every `tokenizer.*` key, verbatim) the synthetic model takes,
  // e.g. a mismatched draft model for speculative decoding with the target's vocabulary. Its
  // token count must be the preset's n_vocab.
  std::string vocab_from;
  uint64_t seed = 1;
  int64_t n_layer = 0;  // 0: the preset's
};

void write_synthetic_model(const Preset& preset, const SynthOptions& options, const std::string& path);

}  // namespace vkgraph::models
