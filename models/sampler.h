#pragma once
// Picks the next token from logits: greedy at temperature 0, otherwise repetition penalty,
// top-k, top-p, min-p and temperature, in llama.cpp's order, from a seeded generator.
//
// The work is split in two so that speculative decoding can use the same transformations:
// distribution() turns logits (and the tokens before them, for the penalty) into the exact
// distribution a token is drawn from, and draw() draws from it. sample() is both.

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

// A distribution over the tokens that can be drawn: token ids[i] has probability
// weights[i] / total(). Tokens not listed have probability 0. Greedy gives one token of weight 1.
struct TokenDistribution {
  std::vector<int32_t> ids;
  std::vector<double> weights;  // > 0, unnormalized
  double total() const;
  double probability(int32_t id) const;  // 0 for tokens not listed
  static TokenDistribution one_hot(int32_t id) { return {{id}, {1.0}}; }
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);
  // logits: [n_vocab]. `recent` are the tokens the repetition penalty looks at.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> recent = {});
  // What sample() draws from: a deterministic function of the logits and `recent`.
  TokenDistribution distribution(std::span<const float> logits, std::span<const int32_t> recent = {});
  // A draw from `d` with this sampler's generator (sample() is draw(distribution(...))).
  int32_t draw(const TokenDistribution& d);
  // A uniform number in [0, 1) from this sampler's generator (53 random bits).
  double uniform();
  bool greedy() const { return params_.temperature == 0.0f; }
  const SamplerParams& params() const { return params_; }

 private:
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

// The first index of the largest logit.
int32_t argmax(std::span<const float> logits);

}  // namespace vkgraph::models
