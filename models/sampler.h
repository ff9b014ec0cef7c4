#pragma once
// Picks the next token from logits: greedy at temperature 0, otherwise repetition penalty,
// top-k, top-p, min-p and temperature, in llama.cpp's order, from a seeded generator.

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace vkgraph::models {

struct SamplerParams {
  float temperature = 0.8f;     // 0: greedy, deterministic
  int32_t top_k = 40;           // 0: off
  float top_p = 0.95f;          // 1: off
  float min_p = 0.05f;          // 0: off; drop tokens below min_p * p(best)
  float repeat_penalty = 1.0f;  // 1: off; divides positive (multiplies negative) logits of recent tokens
  int32_t repeat_last_n = 64;
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);
  // logits: [n_vocab]. `recent` are the tokens the repetition penalty looks at.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> recent = {});
  const SamplerParams& params() const { return params_; }

 private:
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

// The first index of the largest logit.
int32_t argmax(std::span<const float> logits);

}  // namespace vkgraph::models
