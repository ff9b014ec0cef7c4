#include "models/speculative/verification.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "engine/core/error.h"
#include "models/speculative/acceptance.h"

namespace vkgraph::models {

Verdict verify_drafts(const VerifyInput& input, Sampler& sampler) {
  VKGRAPH_CHECK(input.draft != nullptr, "internal: verify_drafts without a draft");
  const Draft& draft = *input.draft;
  const size_t k = draft.tokens.size();
  VKGRAPH_CHECK(draft.distributions.empty() || draft.distributions.size() == k,
                "internal: {} draft tokens with {} distributions", k, draft.distributions.size());
  VKGRAPH_CHECK(!input.logits.empty() && input.logits.size() % (k + 1) == 0, "internal: {} logits for {} rows",
                input.logits.size(), k + 1);
  const size_t n_vocab = input.logits.size() / (k + 1);

  // The penalty window: the history's tail, then the drafts as they are accepted.
  const size_t window = size_t(std::max(0, sampler.params().repeat_last_n));
  std::vector<int32_t> recent(input.history.end() - std::ptrdiff_t(std::min(window, input.history.size())),
                              input.history.end());
  std::vector<float> row(n_vocab);
  const auto target_distribution = [&](size_t i) {
    const std::span<const float> r = input.logits.subspan(i * n_vocab, n_vocab);
    std::copy(r.begin(), r.end(), row.begin());
    for (int32_t id : input.banned) row[size_t(id)] = -std::numeric_limits<float>::infinity();
    return sampler.distribution(row, recent);
  };

  Verdict verdict;
  for (size_t i = 0; i < k; ++i) {
    const TokenDistribution p = target_distribution(i);
    const int32_t d = draft.tokens[i];
    const TokenDistribution q = draft.distributions.empty() ? TokenDistribution::one_hot(d) : draft.distributions[i];
    if (!accept_draft_token(p, q, d, sampler)) {
      verdict.next = draw_residual(p, q, sampler);
      return verdict;
    }
    ++verdict.n_accepted;
    recent.push_back(d);
  }
  verdict.next = sampler.draw(target_distribution(k));
  return verdict;
}

}  // namespace vkgraph::models
