#include "models/lora/lora_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <map>
#include <string_view>

#include "engine/core/error.h"

namespace vkgraph::models {
namespace {

constexpr std::string_view kSuffixA = ".lora_a";
constexpr std::string_view kSuffixB = ".lora_b";
// Trained norm vectors some converters keep; llama.cpp's loader skips them too.
constexpr std::string_view kIgnoredSuffix = "_norm.weight";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void check_metadata(const gguf::GgufFile& file) {
  const std::string& path = file.path();
  const std::optional<std::string> type = file.find_string("general.type");
  VKGRAPH_CHECK(type.has_value(),
                "{}: not a LoRA adapter: it has no general.type (adapters have general.type = adapter; is this a "
                "model file?)",
                path);
  VKGRAPH_CHECK(*type == "adapter", "{}: not a LoRA adapter: general.type is '{}', expected 'adapter'", path, *type);
  const std::optional<std::string> adapter = file.find_string("adapter.type");
  VKGRAPH_CHECK(adapter.has_value(), "{}: adapter.type is missing (expected 'lora')", path);
  VKGRAPH_CHECK(*adapter == "lora", "{}: adapter.type is '{}'; only 'lora' adapters are supported", path, *adapter);
  VKGRAPH_CHECK(file.has("general.architecture"), "{}: general.architecture is missing", path);
}

}  // namespace

LoraFile LoraFile::open(const std::string& path) {
  LoraFile lora(gguf::GgufFile::open(path));
  const gguf::GgufFile& file = lora.file_;
  check_metadata(file);
  if (const std::optional<float> alpha = file.find_f32("adapter.lora.alpha")) {
    VKGRAPH_CHECK(std::isfinite(*alpha), "{}: adapter.lora.alpha is {}, expected a finite number", path, *alpha);
    if (*alpha != 0.0f) lora.alpha_ = *alpha;
  }

  // Pairs by base name, in the order their first tensor appears in the file.
  std::map<std::string, size_t> index;
  std::vector<const gguf::TensorInfo*> a_of, b_of;
  std::vector<std::string> bases;
  for (const gguf::TensorInfo& t : file.tensors()) {
    const bool is_a = ends_with(t.name, kSuffixA);
    const bool is_b = ends_with(t.name, kSuffixB);
    if (!is_a && !is_b) {
      if (ends_with(t.name, kIgnoredSuffix)) {
        lora.ignored_.push_back(t.name);
        continue;
      }
      fail("{}: tensor '{}' is neither a '{}' nor a '{}' tensor of a LoRA pair", path, t.name, kSuffixA, kSuffixB);
    }
    VKGRAPH_CHECK(t.shape.size() == 2, "{}: tensor '{}' has {} dimensions {}, expected a matrix", path, t.name,
                  t.shape.size(), shape_string(t.shape));
    // What convert_lora_to_gguf.py writes (--outtype f32, f16, bf16, q8_0) and q4_0; BF16 is
    // converted while loading (lora_adapter.cpp), the others run as stored.
    VKGRAPH_CHECK(t.type == DType::F32 || t.type == DType::F16 || t.type == DType::BF16 || t.type == DType::Q8_0 ||
                      t.type == DType::Q4_0,
                  "{}: tensor '{}' is {}; LoRA tensors must be f32, f16, bf16, q8_0 or q4_0", path, t.name,
                  dtype_name(t.type));
    const std::string base = t.name.substr(0, t.name.size() - kSuffixA.size());
    auto [it, inserted] = index.emplace(base, bases.size());
    if (inserted) {
      bases.push_back(base);
      a_of.push_back(nullptr);
      b_of.push_back(nullptr);
    }
    (is_a ? a_of : b_of)[it->second] = &t;
  }
  VKGRAPH_CHECK(!bases.empty(), "{}: the adapter has no LoRA tensors ('*{}' / '*{}')", path, kSuffixA, kSuffixB);

  for (size_t i = 0; i < bases.size(); ++i) {
    const std::string& base = bases[i];
    VKGRAPH_CHECK(a_of[i] != nullptr, "{}: '{}{}' has no '{}{}' to pair with", path, base, kSuffixB, base, kSuffixA);
    VKGRAPH_CHECK(b_of[i] != nullptr, "{}: '{}{}' has no '{}{}' to pair with", path, base, kSuffixA, base, kSuffixB);
    const gguf::TensorInfo& a = *a_of[i];
    const gguf::TensorInfo& b = *b_of[i];
    // A [r, n_in] and B [n_out, r]: a rank that differs means a transposed or foreign pair.
    VKGRAPH_CHECK(a.shape[0] == b.shape[1],
                  "{}: the pair of '{}' disagrees on the rank: '{}' is {} (rank {}) but '{}' is {} (rank {})", path,
                  base, a.name, shape_string(a.shape), a.shape[0], b.name, shape_string(b.shape), b.shape[1]);
    lora.pairs_.push_back({base, a, b});
  }
  return lora;
}

void LoraFile::check_against(const Hparams& hp, const ModelWeights& weights) const {
  const std::string& arch = file_.architecture();
  VKGRAPH_CHECK(arch == hp.arch, "{}: the adapter is for architecture '{}' but the model is '{}'", path(), arch,
                hp.arch);
  std::map<std::string, const WeightTensor*> by_name;
  for_each_weight(weights, [&](const WeightTensor& w) {
    if (!w.name.empty()) by_name.emplace(w.name, &w);
  });
  for (const LoraTensorPair& p : pairs_) {
    const auto it = by_name.find(p.base);
    // A fused matrix (Phi-3's attn_qkv, gate+up ffn_up) is uploaded as row ranges named
    // "<name>[first:end]" (models/model.cpp), each its own projection.
    const auto part = by_name.lower_bound(p.base + "[");
    VKGRAPH_CHECK(it != by_name.end() || part == by_name.end() || !part->first.starts_with(p.base + "["),
                  "{}: '{}' adapts '{}', a fused matrix that this model splits into separate projections; adapters "
                  "of fused matrices are not supported",
                  path(), p.a.name, p.base);
    VKGRAPH_CHECK(it != by_name.end(),
                  "{}: '{}' adapts '{}', which the model does not have (an adapter for another model?)", path(),
                  p.a.name, p.base);
    const WeightTensor& w = *it->second;
    VKGRAPH_CHECK(
        w.name != weights.tok_embd.name,
        "{}: '{}' adapts the token embedding '{}', which is looked up, not multiplied; adapters on it are not "
        "supported",
        path(), p.a.name, p.base);
    VKGRAPH_CHECK(w.shape.size() == 2, "{}: '{}' adapts '{}', a vector of shape {}; only matrices can be adapted",
                  path(), p.a.name, p.base, shape_string(w.shape));
    const int64_t r = p.rank(), n_out = w.shape[0], n_in = w.shape[1];
    VKGRAPH_CHECK(
        p.a.shape == Shape({r, n_in}) && p.b.shape == Shape({n_out, r}),
        "{}: the pair of '{}' does not fit it: '{}' is {} and '{}' is {}, but '{}' is {} (expected {} and {})", path(),
        p.base, p.a.name, shape_string(p.a.shape), p.b.name, shape_string(p.b.shape), p.base, shape_string(w.shape),
        shape_string({r, n_in}), shape_string({n_out, r}));
  }
}

float lora_factor(float scale, std::optional<float> alpha, int64_t rank) {
  return alpha ? scale * *alpha / float(rank) : scale;
}

}  // namespace vkgraph::models
