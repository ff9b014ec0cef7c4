// `vkgraph quantize`: write a GGUF with its F32/F16/BF16 matrices converted under a quantization
// scheme (models/quant_scheme.h: q4_k_m, q8_0, bf16, ...).

#include <fmt/format.h>

#include "cli/command.h"
#include "engine/core/dtype.h"
#include "models/quantize.h"

namespace vkgraph::cli {
namespace {

struct QuantizeArgs {
  std::string input;
  std::string output;
  std::string type;
};

int quantize(const QuantizeArgs& a) {
  const models::QuantScheme& scheme = models::find_quant_scheme(a.type, "--type");
  const models::QuantizeSummary s = models::quantize_file(a.input, a.output, scheme);
  // Matrices that stayed are named: a model with odd row lengths is only partly quantized. So are
  // those the scheme's mix gives another type than its base, with the rule.
  for (const models::KeptTensor& k : s.kept) fmt::print("kept {}: {}\n", k.name, k.reason);
  for (const models::KeptTensor& c : s.changed) fmt::print("{}: {}\n", c.name, c.reason);
  std::string types;
  for (const auto& [type, count] : s.tensors_by_type)
    types += fmt::format("{}{} {}", types.empty() ? "" : ", ", count, type);
  const auto mib = [](uint64_t bytes) { return double(bytes) / (1 << 20); };
  fmt::print(
      "wrote {}: {} of {} tensors converted to {}{}, {} matrices and {} norm/bias vectors kept, "
      "{:.2f} MiB -> {:.2f} MiB\n",
      a.output, s.tensors_converted, s.tensors_total, scheme.name, types.empty() ? "" : " (" + types + ")",
      s.kept.size(), s.vectors_kept, mib(s.bytes_before), mib(s.bytes_after));
  return 0;
}

const CommandRegistration registration{
    "quantize", "Write a GGUF with its f32/f16/bf16 weight matrices converted (q4_k_m, q8_0, ...)", [](CLI::App& app) {
      auto a = std::make_shared<QuantizeArgs>();
      app.add_option("input", a->input, "GGUF model to read")->required();
      app.add_option("output", a->output, "GGUF file to write")->required();
      app.add_option("--type", a->type,
                     "quantization scheme: " + models::quant_scheme_names() +
                         " (the _k_m/_k_s schemes and q4_1..iq4_xs mix types per tensor as llama.cpp's quantizer)")
          ->required();
      return [a] { return quantize(*a); };
    }};

}  // namespace
}  // namespace vkgraph::cli
