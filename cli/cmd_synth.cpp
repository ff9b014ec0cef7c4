// `vkgraph synth`: write a GGUF model of a real model's shapes with deterministic random weights,
// or (--lora-rank) a LoRA adapter for those shapes.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/command.h"
#include "engine/core/error.h"
#include "models/quant_scheme.h"
#include "models/synth/synth_lora.h"
#include "models/synth/synth_model.h"

namespace vkgraph::cli {
namespace {

struct SynthArgs {
  std::string preset;
  std::string type = "f16";
  std::string output;
  std::string tokenizer;
  uint64_t seed = 1;
  int64_t layers = 0;
  int64_t lora_rank = 0;  // > 0: write an adapter instead of a model
  float lora_alpha = 0;   // 0: 2 x rank
  std::vector<std::string> lora_targets;
};

int synth_lora(const SynthArgs& a, const models::Preset& preset, DType type) {
  models::SynthLoraOptions options;
  options.rank = a.lora_rank;
  options.alpha = a.lora_alpha != 0 ? a.lora_alpha : 2.0f * float(a.lora_rank);
  options.type = type;
  if (!a.lora_targets.empty()) options.targets = a.lora_targets;
  options.seed = a.seed;
  options.n_layer = a.layers;
  models::write_synthetic_lora(preset, options, a.output);
  fmt::print("wrote {}: a LoRA adapter for {} shapes, rank {}, alpha {}, {} on {}, synthetic (random) values\n",
             a.output, preset.name, options.rank, options.alpha, a.type, fmt::join(options.targets, ", "));
  return 0;
}

int synth(const SynthArgs& a) {
  const models::Preset& preset = models::find_preset(a.preset);
  models::SynthOptions options;
  if (a.lora_rank > 0) {
    const auto type = dtype_from_name(a.type);
    VKGRAPH_CHECK(type && (*type == DType::F32 || *type == DType::F16 || *type == DType::Q8_0),
                  "--type of a LoRA adapter must be f32, f16 or q8_0 (got '{}')", a.type);
    return synth_lora(a, preset, *type);
  }
  options.weights = models::find_quant_scheme(a.type, "--type").name;  // throws listing the schemes
  options.tokenizer_json = a.tokenizer;
  options.seed = a.seed;
  options.n_layer = a.layers;
  models::write_synthetic_model(preset, options, a.output);
  fmt::print("wrote {}: {} shapes, {} weights, synthetic (random) values\n", a.output, preset.name, a.type);
  return 0;
}

const CommandRegistration registration{
    "synth", "Write a synthetic GGUF model of a real model's shapes (for benchmarks)", [](CLI::App& app) {
      auto a = std::make_shared<SynthArgs>();
      std::string names;
      for (const auto& p : models::presets()) names += (names.empty() ? "" : ", ") + p.name;
      app.add_option("--preset", a->preset, "model shapes: " + names)->required();
      app.add_option(
             "--type", a->type,
             "weights: a quantization scheme as `vkgraph quantize --type` takes (" + models::quant_scheme_names() + ")")
          ->capture_default_str();
      app.add_option("-o,--output", a->output, "GGUF file to write")->required();
      app.add_option("--tokenizer", a->tokenizer, "a Hugging Face tokenizer.json for a real vocabulary");
      app.add_option("--seed", a->seed, "weights seed")->capture_default_str();
      app.add_option("--layers", a->layers, "override the layer count (0: the preset's)");
      app.add_option("--lora-rank", a->lora_rank,
                     "write a LoRA adapter of this rank for the preset instead of a model (--type: f32, f16, q8_0)")
          ->check(CLI::PositiveNumber);
      app.add_option("--lora-alpha", a->lora_alpha, "the adapter's alpha (default: 2 x rank)");
      app.add_option("--lora-targets", a->lora_targets,
                     "comma list of adapted matrices (default: all of attn_q, attn_k, attn_v, attn_output, ffn_gate, "
                     "ffn_up, ffn_down)")
          ->delimiter(',');
      return [a] { return synth(*a); };
    }};

}  // namespace
}  // namespace vkgraph::cli
