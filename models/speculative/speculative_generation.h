#pragma once
// The decode loop with speculative decoding: generate() (models/generation.h) with a drafter.
// Each target step evaluates x (the last drawn token) and up to --draft-max drafted tokens as
// tentative tokens of the session, applies the acceptance rule (verification.h), keeps x and
// the accepted drafts (Session::accept) and draws the target's next token, so one step yields
// 1 to k + 1 tokens. The tokens that come out are distributed exactly as plain sampling's (and
// are the same tokens when greedy): what differs is how many target steps they take.
//
// Bookkeeping matches generate(): every token it returns has been evaluated except at most the
// last (GenerateResult::evaluated), end-of-generation tokens end the text and are not returned,
// should_stop is asked before each token is handed out, and the plain cache refuses to overflow
// (context_full). A step never drafts past max_tokens, so a draft is never cut by the limit.

#include "models/generation.h"

namespace vkgraph::models {

GenerateResult generate_speculative(Session& session, std::vector<float> logits, Sampler& sampler,
                                    std::vector<int32_t>& history, const GenerateOptions& options,
                                    const std::function<void(const std::string&)>& emit,
                                    const std::function<bool()>& should_stop);

}  // namespace vkgraph::models
