#pragma once
// The target's verdict on one sequence's drafted tokens, from the logits of the step that
// evaluated them. This is all a batching server needs per sequence: it puts [x, d_0 .. d_k-1] of
// every sequence into one batched target step (x: the sequence's last drawn token, not yet
// evaluated), hands each sequence's k + 1 logits rows here, and keeps the KV entries of x and the
// accepted drafts (Session::accept for the plain cache and the ring; a paged cache frees the
// pages of the rest).

#include <cstdint>
#include <span>

#include "models/sampler.h"
#include "models/speculative/drafter.h"

namespace vkgraph::models {

struct Verdict {
  int32_t n_accepted = 0;  // drafted tokens accepted: the first n_accepted of them
  int32_t next = -1;       // the target's token after them: its replacement for the first
                           // rejected draft, or the bonus token after the last draft
};

struct VerifyInput {
  // [k + 1, n_vocab]: row i is the target's logits after d_i-1 (row 0: after x), i.e. the
  // prediction for the position of d_i (row k: the token after the last draft).
  std::span<const float> logits;
  const Draft* draft = nullptr;
  // The tokens before the step, x included: the repetition penalty at row i reads them followed
  // by d_0 .. d_i-1.
  std::span<const int32_t> history;
  std::span<const int32_t> banned;  // tokens never drawn (set to -inf in every row)
};

// Applies the acceptance rule (acceptance.h) to the drafts in order, with p from `sampler`'s
// transformations at each position, and draws the next token. Draws from `sampler`'s generator
// only where the rule needs randomness (never when greedy).
Verdict verify_drafts(const VerifyInput& input, Sampler& sampler);

}  // namespace vkgraph::models
