#include "models/synth/presets.h"

#include <fmt/format.h>

#include "engine/core/error.h"

namespace vkgraph::models {

const std::vector<Preset>& presets() {
  // Dimensions from each model's published config.json. The "test-*" presets are tiny versions
  // of each architecture for end-to-end tests.
  static const std::vector<Preset> list = {
      // name            arch      vocab   ctx    embd  layer head kv  hdim  ff     rope      eps    tied
      {"smollm2-135m", "llama", 49152, 8192, 576, 30, 9, 3, 64, 1536, 100000.0f, 1e-5f, true, 0, "gpt2", "smollm"},
      {"qwen2.5-0.5b", "qwen2", 151936, 32768, 896, 24, 14, 2, 64, 4864, 1000000.0f, 1e-6f, true, 0, "gpt2", "qwen2"},
      {"qwen3-0.6b", "qwen3", 151936, 40960, 1024, 28, 16, 8, 128, 3072, 1000000.0f, 1e-6f, true, 0, "gpt2", "qwen2"},
      {"llama-3.2-1b", "llama", 128256, 131072, 2048, 16, 32, 8, 64, 8192, 500000.0f, 1e-5f, true, 0, "gpt2",
       "llama-bpe", 32.0f},
      // Phi-3.5-mini's shapes (fused attn_qkv and gate+up) and its LongRoPE layout: 128k
      // context over an original 4k, factor sets of 48 pairs (synthetic values).
      {"phi-3.5-mini", "phi3", 32064, 131072, 3072, 32, 32, 32, 96, 8192, 10000.0f, 1e-5f, false, 0, "llama", "", 0.0f,
       4096},
      // Gemma 2 2B and Gemma 3 1B (text): windows of 4096 and 512 on their local layers (every
      // other layer; five of every six), Gemma 2's soft-caps, Gemma 3's local RoPE base 10000.
      {"gemma-2-2b", "gemma2", 256000, 8192, 2304, 26, 8, 4, 256, 9216, 10000.0f, 1e-6f, true, 4096, "llama", "", 0.0f},
      {"gemma-3-1b", "gemma3", 262144, 32768, 1152, 26, 4, 1, 256, 6912, 1000000.0f, 1e-6f, true, 512, "llama", "",
       0.0f},
      {"tinyllama-1.1b", "llama", 32000, 2048, 2048, 22, 32, 4, 64, 5632, 10000.0f, 1e-5f, false},
      {"llama-2-7b", "llama", 32000, 4096, 4096, 32, 32, 32, 128, 11008, 10000.0f, 1e-5f, false},
      {"mistral-7b", "mistral", 32000, 32768, 4096, 32, 32, 8, 128, 14336, 10000.0f, 1e-5f, false, 4096},
      {"test-llama", "llama", 512, 256, 128, 2, 4, 2, 32, 320, 10000.0f, 1e-5f, false},
      {"test-qwen2", "qwen2", 512, 256, 128, 2, 4, 2, 32, 320, 1000000.0f, 1e-6f, true},
      {"test-qwen3", "qwen3", 512, 256, 128, 2, 4, 2, 64, 320, 1000000.0f, 1e-6f, true},
      {"test-mistral", "mistral", 512, 256, 128, 2, 4, 1, 32, 320, 10000.0f, 1e-5f, false, 8},
      // stories260K's shape (the bundled default model): with its vocabulary (SynthOptions::
      // vocab_from) a draft model for speculative decoding that predicts nothing the target does.
      {"stories260k", "llama", 512, 2048, 64, 5, 8, 4, 8, 172, 10000.0f, 1e-5f, false},
      {"test-phi3", "phi3", 512, 256, 128, 2, 4, 2, 32, 320, 10000.0f, 1e-5f, false},
      // Windows of 8 under a 20-token prompt; test-gemma3's six layers are five local and one
      // global, with different RoPE bases.
      {"test-gemma2", "gemma2", 512, 256, 128, 2, 4, 2, 64, 320, 10000.0f, 1e-6f, true, 8, "llama", "", 0.0f},
      {"test-gemma3", "gemma3", 512, 256, 128, 6, 4, 2, 64, 320, 1000000.0f, 1e-6f, true, 8, "llama", "", 0.0f},
      {"test-llama3", "llama", 512, 256, 128, 2, 4, 2, 32, 320, 500000.0f, 1e-5f, true, 0, "llama", "", 8.0f},
      // stories260K's shape (the bundled default model) with a 16384-token context: long-context
      // prefill and attention memory tests at negligible weight cost.
      {"stories260k-16k", "llama", 512, 16384, 64, 5, 8, 4, 8, 172, 10000.0f, 1e-5f, false},
  };
  return list;
}

const Preset& find_preset(std::string_view name) {
  std::string names;
  for (const Preset& p : presets()) {
    if (p.name == name) return p;
    names += names.empty() ? p.name : ", " + p.name;
  }
  fail("unknown preset '{}' (presets: {})", name, names);
}

}  // namespace vkgraph::models
