#include "models/speculative/ngram_drafter.h"

#include <algorithm>

#include "engine/core/error.h"

namespace vkgraph::models {

NgramDrafter::NgramDrafter(const NgramOptions& options) : options_(options) {
  VKGRAPH_CHECK(options.min_match >= 1 && options.min_match <= options.max_match,
                "--draft-ngram-min must be in [1, {}] (got {})", options.max_match, options.min_match);
  VKGRAPH_CHECK(options.search_window >= 2, "the n-gram search window must be at least 2 tokens (got {})",
                options.search_window);
}

Draft NgramDrafter::propose(const DraftRequest& request) {
  Draft draft;
  draft.tokens = ngram_proposal(request.context, request.max_tokens, options_);
  // A banned token (end of text under ignore_eos) could never be accepted: stop before it.
  for (size_t i = 0; i < draft.tokens.size(); ++i) {
    if (std::find(request.banned.begin(), request.banned.end(), draft.tokens[i]) != request.banned.end()) {
      draft.tokens.resize(i);
      break;
    }
  }
  return draft;
}

std::vector<int32_t> ngram_proposal(std::span<const int32_t> context, int32_t max_tokens, const NgramOptions& options) {
  std::vector<int32_t> out;
  if (max_tokens <= 0) return out;
  const std::span<const int32_t> c =
      context.size() > size_t(options.search_window) ? context.last(size_t(options.search_window)) : context;
  const auto n = int64_t(c.size());
  if (n < options.min_match + 1) return out;
  // For every earlier end e (the suffix's last token is at n - 1), the match length is how many
  // tokens agree going backwards from e and from n - 1. The continuation starts at e + 1.
  int64_t best_end = -1, best_len = 0;
  for (int64_t e = n - 2; e >= 0; --e) {
    int64_t len = 0;
    while (len < options.max_match && len <= e && c[size_t(e - len)] == c[size_t(n - 1 - len)]) ++len;
    if (len > best_len) {  // strictly longer: the most recent of equal matches wins
      best_len = len;
      best_end = e;
      if (len == options.max_match) break;
    }
  }
  if (best_len < options.min_match) return out;
  for (int64_t i = 0; i < max_tokens; ++i) {
    const int64_t at = best_end + 1 + i;
    // Past the end of the context the continuation reads its own proposal (at - n < i always).
    out.push_back(at < n ? c[size_t(at)] : out[size_t(at - n)]);
  }
  return out;
}

}  // namespace vkgraph::models
