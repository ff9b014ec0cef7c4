#pragma once
// The acceptance rule of speculative sampling (Leviathan et al. 2023; Chen et al. 2023). A token d
// drawn from the draft's distribution q is accepted with probability min(1, p(d) / q(d)), where
// p is the target's distribution at that position; on rejection the target's token is drawn from
// normalize(max(0, p - q)). The token that comes out is then distributed exactly as p, whatever
// q is: P(out = t) = q(t) min(1, p(t)/q(t)) + (1 - sum_s min(q(s), p(s))) (p(t) - q(t))+ / Z
// = min(q(t), p(t)) + (p(t) - q(t))+ = p(t), since Z = sum_s (p(s) - q(s))+ equals the
// rejection probability 1 - sum_s min(p(s), q(s)).
//
// p and q are what the sampler draws from after its transformations (sampler.h): the rule only
// needs p to be the distribution plain sampling would use at that position, and q the one the
// draft token was really drawn from. Greedy sampling is the special case of a one-hot p: a draft
// is accepted iff it is the target's choice, and the replacement is that choice.

#include <cstdint>

#include "models/sampler.h"

namespace vkgraph::models {

// Whether `token`, drawn from q, is accepted against p. Draws one uniform number from `rng` only
// when the ratio is strictly between 0 and 1 (never for greedy p).
bool accept_draft_token(const TokenDistribution& p, const TokenDistribution& q, int32_t token, Sampler& rng);

// A draw from normalize(max(0, p - q)) after a rejection. When that is empty (p <= q everywhere,
// which exact arithmetic rules out after a rejection, rounding does not) it draws from p.
int32_t draw_residual(const TokenDistribution& p, const TokenDistribution& q, Sampler& rng);

}  // namespace vkgraph::models
