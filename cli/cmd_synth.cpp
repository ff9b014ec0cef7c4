// `vkgraph synth`: write a GGUF model of a real model's shapes with deterministic random weights.

#include <fmt/format.h>

#include "cli/command.h"
#include "engine/core/error.h"
#include "models/quant_scheme.h"
#include "models/synth/synth_model.h"

namespace vkgraph::cli {
namespace {

struct SynthArgs {
  std::string preset;
  std::string type = "f16";
  std::string output;
  std::string tokenizer;
  std::string vocab_from;
  uint64_t seed = 1;
  int64_t layers = 0;
};

int synth(const SynthArgs& a) {
  const models::Preset& preset = models::find_preset(a.preset);
  models::SynthOptions options;
  options.weights = models::find_quant_scheme(a.type, "--type").name;  // throws listing the schemes
  options.tokenizer_json = a.tokenizer;
  options.vocab_from = a.vocab_from;
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
      app.add_option("--vocab-from", a->vocab_from,
                     "take the vocabulary of this GGUF model (e.g. a draft model for speculative decoding)");
      app.add_option("--seed", a->seed, "weights seed")->capture_default_str();
      app.add_option("--layers", a->layers, "override the layer count (0: the preset's)");
      return [a] { return synth(*a); };
    }};

}  // namespace
}  // namespace vkgraph::cli
