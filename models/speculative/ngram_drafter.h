#pragma once
// Prompt lookup: drafts from the context itself. It finds the earlier place where the context's
// last tokens occurred before, with the longest match (at least min_match tokens, the most recent
// on a tie), and proposes what followed there. No second model; strong wherever text repeats:
// summaries, edits, code, and a small model's own loops.

#include "models/speculative/drafter.h"

namespace vkgraph::models {

struct NgramOptions {
  int32_t min_match = 2;   // --draft-ngram-min: shortest suffix match worth proposing from
  int32_t max_match = 16;  // matches are measured up to this length (bounds the search's cost)
  // Only the last `search_window` tokens of the context are searched, so a long chat costs a
  // bounded amount per step.
  int32_t search_window = 8192;
};

class NgramDrafter final : public Drafter {
 public:
  explicit NgramDrafter(const NgramOptions& options = {});
  Draft propose(const DraftRequest& request) override;
  const char* kind() const override { return "ngram"; }

 private:
  NgramOptions options_;
};

// The proposal itself (a pure function, tested directly): up to max_tokens tokens that followed
// the best earlier match of the context's suffix. The continuation may run past the end of the
// context into its own proposed tokens, so a repeating pattern is continued as far as asked.
std::vector<int32_t> ngram_proposal(std::span<const int32_t> context, int32_t max_tokens, const NgramOptions& options);

}  // namespace vkgraph::models
