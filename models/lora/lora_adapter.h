#pragma once
// A LoRA adapter loaded for one model: its pairs checked against the model's weights and
// uploaded once to the model's backend, as they are in the file (f32, f16, q8_0 or q4_0; bf16 as f16 or f32). Any
// number of sessions of that model may apply it, each with its own scale (models/session.h);
// applying, switching or dropping it uploads nothing.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/backend/backend.h"
#include "models/arch/weights.h"
#include "models/model.h"

namespace vkgraph::models {

// One adapted matrix W [n_out, n_in]: W x + factor * B (A x).
struct LoraPair {
  WeightTensor a;  // [r, n_in]
  WeightTensor b;  // [n_out, r]
  int64_t rank() const { return a.shape[0]; }
};

class LoraAdapter {
 public:
  // Reads `path` (models/lora/lora_file.h), checks it against `model` and uploads its pairs to
  // `backend`, which must be the one the model's weights live on. Errors name the file and the
  // tensor.
  static std::shared_ptr<const LoraAdapter> load(const std::string& path, const Model& model, Backend& backend);
  // An adapter from pairs already on a backend (graph tests, tools): `label` names it in
  // messages; `model` may be null when no session will check it against its model.
  static std::shared_ptr<const LoraAdapter> from_pairs(std::string label, const Model* model,
                                                       std::optional<float> alpha,
                                                       std::map<std::string, LoraPair> pairs);

  const std::string& path() const { return path_; }
  const Model* model() const { return model_; }          // the model it was checked against
  std::optional<float> alpha() const { return alpha_; }  // nullopt: alpha = r
  // The pair adapting the base tensor `base` ("blk.0.attn_q.weight"), nullptr when none.
  const LoraPair* find(const std::string& base) const;
  const std::map<std::string, LoraPair>& pairs() const { return pairs_; }
  size_t bytes() const { return bytes_; }  // of the uploaded pairs

 private:
  LoraAdapter() = default;
  std::string path_;
  const Model* model_ = nullptr;
  std::optional<float> alpha_;
  std::map<std::string, LoraPair> pairs_;
  size_t bytes_ = 0;
};

// An adapter as a session applies it: the user's scale (the product's factor is
// lora_factor(scale, alpha, r)). Adapters whose scale is 0 are left out of the step graph, as
// llama.cpp leaves them out, so they cost nothing and give exactly the base model's output.
struct AdapterUse {
  std::shared_ptr<const LoraAdapter> adapter;
  float scale = 1.0f;
};

}  // namespace vkgraph::models
