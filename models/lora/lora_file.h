#pragma once
// A LoRA adapter file in llama.cpp's GGUF adapter format (convert_lora_to_gguf.py writes it):
//   general.type = "adapter", adapter.type = "lora", general.architecture = the base's,
//   adapter.lora.alpha (f32, optional), and for each adapted matrix W [n_out, n_in] of the base a
//   pair of tensors "<W's name>.lora_a" [r, n_in] and "<W's name>.lora_b" [n_out, r] (GGUF ne
//   {n_in, r} and {r, n_out}), in any type the engine's matmul reads (f32, f16, q8_0, q4_0).
// The adapted product is W x + scale * (alpha / r) * B (A x); a missing (or zero) alpha means
// alpha = r, so the factor is the user's scale alone, as llama.cpp computes it.
//
// Reading checks the file alone (metadata, names, pairs, ranks); check_against() checks it
// against the model it is meant for (architecture, every base tensor present, adaptable and of
// the pair's shape). Every error names the file and the tensor or key at fault.

#include <optional>
#include <string>
#include <vector>

#include "models/arch/hparams.h"
#include "models/arch/weights.h"
#include "models/gguf/gguf_reader.h"

namespace vkgraph::models {

struct LoraTensorPair {
  std::string base;    // the adapted tensor's name in the base model: "blk.0.attn_q.weight"
  gguf::TensorInfo a;  // [r, n_in]
  gguf::TensorInfo b;  // [n_out, r]
  int64_t rank() const { return a.shape[0]; }
};

class LoraFile {
 public:
  static LoraFile open(const std::string& path);

  // Throws unless every pair adapts a matrix of `weights` (a model of `hp`) with its shape.
  void check_against(const Hparams& hp, const ModelWeights& weights) const;

  const std::string& path() const { return file_.path(); }
  const gguf::GgufFile& file() const { return file_; }
  // adapter.lora.alpha; nullopt when absent or zero (llama.cpp reads a missing key as 0 and
  // then uses alpha = r).
  std::optional<float> alpha() const { return alpha_; }
  const std::vector<LoraTensorPair>& pairs() const { return pairs_; }
  // Tensors llama.cpp also ignores ("*_norm.weight": adapters may carry trained norms, which
  // the format's loaders do not apply), listed for a warning.
  const std::vector<std::string>& ignored() const { return ignored_; }

 private:
  explicit LoraFile(gguf::GgufFile file) : file_(std::move(file)) {}
  gguf::GgufFile file_;
  std::optional<float> alpha_;
  std::vector<LoraTensorPair> pairs_;
  std::vector<std::string> ignored_;
};

// The factor a pair's product B (A x) is multiplied by: scale * alpha / rank, or scale when the
// file gives no alpha; in f32 and in this order, as llama.cpp's llama_adapter_lora_weight::
// get_scale computes it.
float lora_factor(float scale, std::optional<float> alpha, int64_t rank);

}  // namespace vkgraph::models
