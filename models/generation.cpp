#include "models/generation.h"

#include <chrono>
#include <limits>

#include "models/speculative/speculative_generation.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::models {

GenerateResult generate(Session& session, std::vector<float> logits, Sampler& sampler, std::vector<int32_t>& history,
                        const GenerateOptions& options, const std::function<void(const std::string&)>& emit,
                        const std::function<bool()>& should_stop) {
  if (options.drafter != nullptr) {
    return generate_speculative(session, std::move(logits), sampler, history, options, emit, should_stop);
  }
  const Tokenizer& tok = session.model().tokenizer();
  StreamingDecoder decoder(tok, false, false);
  GenerateResult result;
  const auto start = std::chrono::steady_clock::now();
  const auto send = [&](const std::string& piece) {
    result.text += piece;
    if (!piece.empty()) emit(piece);
  };
  for (int64_t i = 0; i < options.max_tokens; ++i) {
    if (should_stop && should_stop()) {
      result.interrupted = true;
      break;
    }
    if (options.ignore_eos) {
      for (size_t id = 0; id < logits.size(); ++id) {
        if (tok.is_eog(int32_t(id))) logits[id] = -std::numeric_limits<float>::infinity();
      }
    }
    const int32_t next = sampler.sample(logits, history);
    if (tok.is_eog(next)) {
      result.stopped_at_eog = true;
      break;
    }
    history.push_back(next);
    result.tokens.push_back(next);
    send(decoder.push(next));
    if (i + 1 == options.max_tokens) break;
    if (!session.fits(1)) {  // the plain cache is full (a ring never is)
      result.context_full = true;
      break;
    }
    const int32_t one[] = {next};
    logits = session.eval(one);
    result.evaluated++;
  }
  send(decoder.finish());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace vkgraph::models
