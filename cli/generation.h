#pragma once
// The generation loop shared by `run` (and later `chat`): prompt in, streamed text out.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/sampler.h"
#include "models/session.h"

namespace vkgraph::cli {

struct GenerationStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prompt_seconds = 0;
  double generation_seconds = 0;
  bool stopped_at_eog = false;
};

// Evaluates `prompt` (already tokenized) and samples up to `n_predict` tokens, handing each
// token's complete UTF-8 text to `emit`. Stops early at an end-of-generation token or when
// `should_stop` returns true. `generated` receives the sampled ids.
GenerationStats generate(models::Session& session, const std::vector<int32_t>& prompt, int64_t n_predict,
                         models::Sampler& sampler, const std::function<void(const std::string&)>& emit,
                         std::vector<int32_t>* generated = nullptr,
                         const std::function<bool()>& should_stop = {});

}  // namespace vkgraph::cli
