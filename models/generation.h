#pragma once
// The decode loop: sample, stream the text, feed the token back, until a limit, an
// end-of-generation token or a stop request. Shared by `run`, the chat and the C API.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/sampler.h"
#include "models/session.h"
#include "models/speculative/speculative_params.h"

namespace vkgraph::models {

class Drafter;

struct GenerateOptions {
  int64_t max_tokens = 128;
  bool ignore_eos = false;  // as llama.cpp's --ignore-eos: end-of-generation tokens cannot be drawn
  // Speculative decoding (models/speculative): drafts from `drafter` verified by the session's
  // model several tokens per step, with the output distribution of plain sampling. nullptr: off.
  Drafter* drafter = nullptr;
  SpeculativeParams speculative;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // the sampled ids, in order
  size_t evaluated = 0;         // how many of them the session has evaluated (all but at most the last)
  std::string text;             // their text (complete UTF-8)
  double seconds = 0;
  bool stopped_at_eog = false;
  bool interrupted = false;      // should_stop said so
  bool context_full = false;     // the plain cache filled up (never with the KV ring)
  SpeculativeStats speculative;  // with a drafter
};

// `logits` are those of the last evaluated token; `history` (the tokens so far, for the
// repetition penalty) grows by each sampled token. The session evaluates each sampled token
// before the next is drawn; `evaluated` tells whether the final one was. With a drafter the
// session must have no tentative tokens pending, and has none afterwards.
GenerateResult generate(Session& session, std::vector<float> logits, Sampler& sampler, std::vector<int32_t>& history,
                        const GenerateOptions& options, const std::function<void(const std::string&)>& emit,
                        const std::function<bool()>& should_stop = {});

}  // namespace vkgraph::models
