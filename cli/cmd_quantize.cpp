// `vkgraph quantize`: write a GGUF with its F32/F16 matrices converted to Q8_0 or Q4_0.

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
  const DType target = models::parse_weight_type(a.type, "--type");
  const models::QuantizeSummary s = models::quantize_file(a.input, a.output, target);
  // Matrices that stayed are named: a model with odd row lengths is only partly quantized.
  for (const models::KeptTensor& k : s.kept) fmt::print("kept {}: {}\n", k.name, k.reason);
  const auto mib = [](uint64_t bytes) { return double(bytes) / (1 << 20); };
  fmt::print(
      "wrote {}: {} of {} tensors converted to {}, {} matrices and {} norm/bias vectors kept, "
      "{:.2f} MiB -> {:.2f} MiB\n",
      a.output, s.tensors_converted, s.tensors_total, dtype_name(target), s.kept.size(), s.vectors_kept,
      mib(s.bytes_before), mib(s.bytes_after));
  return 0;
}

const CommandRegistration registration{
    "quantize", "Write a GGUF with its f32/f16 weight matrices converted to q8_0 or q4_0", [](CLI::App& app) {
      auto a = std::make_shared<QuantizeArgs>();
      app.add_option("input", a->input, "GGUF model to read")->required();
      app.add_option("output", a->output, "GGUF file to write")->required();
      app.add_option("--type", a->type, "q8_0 or q4_0")->required();
      return [a] { return quantize(*a); };
    }};

}  // namespace
}  // namespace vkgraph::cli
