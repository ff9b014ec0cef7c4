#pragma once
// --lora-merge: LoRA adapters added into the base weights while the model loads,
// W' = W + sum over adapters of factor * B A (factor = lora_factor(scale, alpha, r)), so every
// step runs the plain base graph. A quantized matrix is dequantized, merged in f32 and quantized
// back to its own type: a second rounding of every adapted weight, which costs accuracy that the
// unmerged path does not lose (tests/test_lora_merge.cpp measures it). Merged adapters cannot be
// switched or scaled afterwards; for that, apply them unmerged (Session::set_adapters).

#include <span>
#include <string>
#include <vector>

#include "models/arch/hparams.h"
#include "models/arch/weights.h"
#include "models/gguf/gguf_reader.h"
#include "models/lora/lora_file.h"

namespace vkgraph::models {

struct LoraMergeRequest {
  std::string path;
  float scale = 1.0f;
};

class LoraMerger {
 public:
  // Opens every adapter and checks it against the model described by `hp` and `weights` (the
  // weights' names and shapes; nothing needs to be uploaded yet). Errors name the adapter file.
  LoraMerger(std::span<const LoraMergeRequest> requests, const Hparams& hp, const ModelWeights& weights);

  bool adapts(const std::string& tensor) const;
  size_t adapter_count() const { return adapters_.size(); }
  // The matrix `tensor` (its bytes `data`, in its own type) with every adapter's product added:
  // [rows * cols] f32, row-major.
  std::vector<float> merged(const gguf::TensorInfo& tensor, std::span<const std::byte> data) const;

 private:
  struct Adapter {
    LoraFile file;
    float scale;
  };
  std::vector<Adapter> adapters_;
};

// f32 rows [rows * cols] packed into `type` (f32, f16, q8_0, q4_0), rounding like the
// quantizers of engine/core/quant.h.
std::vector<std::byte> pack_rows(DType type, std::span<const float> values, int64_t rows, int64_t cols);

}  // namespace vkgraph::models
