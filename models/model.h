#pragma once
// A loaded model: hyperparameters, weights on a backend, tokenizer and chat template.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "models/arch/hparams.h"
#include "models/arch/weights.h"
#include "models/lora/lora_merge.h"

namespace vkgraph {
class Tokenizer;
}

namespace vkgraph::models {

struct LoadProgress {
  size_t tensors_done = 0;
  size_t tensors_total = 0;
  size_t bytes_done = 0;
  size_t bytes_total = 0;
};

struct LoadOptions {
  // Called after each tensor upload; returning false cancels the load (it then throws).
  std::function<bool(const LoadProgress&)> progress;
  // A quantization scheme (models/quant_scheme.h: q8_0, q4_k_m, bf16, ...): F32/F16/BF16
  // matrices (projections, embeddings, output) are converted as it says before upload, exactly
  // as `vkgraph quantize --type` would (models/quantize.h); matrices it keeps stay in their type
  // and the log names them. Norms and biases stay f32.
  std::optional<std::string> weights;
  // LoRA adapters merged into the weights they adapt (models/lora/lora_merge.h): each adapted
  // matrix is merged in f32 and stored in the type it would have had (its own, or the scheme's).
  std::vector<LoraMergeRequest> merge_adapters;
};

class Model {
 public:
  // Reads a GGUF file (or every part of a split one, given its first part), checks every
  // tensor's presence, type and shape, and uploads the weights to `backend` once. Errors name
  // the file and the tensor.
  static std::unique_ptr<Model> load(const std::string& path, Backend& backend, const LoadOptions& options = {});
  ~Model();

  const std::string& path() const { return path_; }
  const Hparams& hparams() const { return hparams_; }
  const ModelWeights& weights() const { return weights_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  // tokenizer.chat_template, empty when the file has none.
  const std::string& chat_template() const { return chat_template_; }
  // Bytes of the weight tensors as uploaded to the device (the file's, or the converted ones
  // with LoadOptions::weights), parameters count.
  size_t weight_bytes() const { return weight_bytes_; }
  size_t parameter_count() const { return parameter_count_; }
  // The type most weights have (for bench rows): "q4_0", "f16", ...
  const std::string& weight_type() const { return weight_type_; }

 private:
  Model() = default;
  std::string path_;
  Hparams hparams_;
  ModelWeights weights_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string chat_template_;
  size_t weight_bytes_ = 0;
  size_t parameter_count_ = 0;
  std::string weight_type_;
};

}  // namespace vkgraph::models
