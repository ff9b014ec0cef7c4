#pragma once
// Where drafted tokens come from. A drafter proposes the tokens it guesses follow a context; the
// target then verifies them all in one step (verification.h). Two kinds: a smaller model with the
// target's vocabulary (model_drafter.h) and prompt lookup in the context itself (ngram_drafter.h).

#include <cstdint>
#include <span>
#include <vector>

#include "models/sampler.h"

namespace vkgraph::models {

struct DraftRequest {
  // Every token so far, the last one drawn by the target but not evaluated by it yet.
  std::span<const int32_t> context;
  int32_t max_tokens = 0;  // propose at most this many
  // The target's sampling: a draft model draws its tokens with the same transformations, which
  // makes its distribution q close to the target's p (what acceptance depends on).
  const SamplerParams* sampling = nullptr;
  std::span<const int32_t> banned;  // tokens never drawn (end-of-generation under ignore_eos)
};

struct Draft {
  std::vector<int32_t> tokens;
  // q: the distribution each token was drawn from, one per token; empty when every token was
  // chosen deterministically (n-gram lookup, greedy drafting), i.e. q is one-hot on the token.
  std::vector<TokenDistribution> distributions;
};

class Drafter {
 public:
  virtual ~Drafter() = default;
  virtual Draft propose(const DraftRequest& request) = 0;
  // "ngram", "model": for logs and statistics.
  virtual const char* kind() const = 0;
};

}  // namespace vkgraph::models
