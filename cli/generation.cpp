#include "cli/generation.h"

#include <chrono>

#include "models/tokenizer/tokenizer.h"

namespace vkgraph::cli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

GenerationStats generate(models::Session& session, const std::vector<int32_t>& prompt, int64_t n_predict,
                         models::Sampler& sampler, const std::function<void(const std::string&)>& emit,
                         std::vector<int32_t>* generated, const std::function<bool()>& should_stop) {
  GenerationStats stats;
  const Tokenizer& tokenizer = session.model().tokenizer();
  auto start = std::chrono::steady_clock::now();
  std::vector<float> logits = session.eval(prompt);
  stats.prompt_tokens = int64_t(prompt.size());
  stats.prompt_seconds = seconds_since(start);

  std::vector<int32_t> history(prompt);
  StreamingDecoder decoder(tokenizer, false, false);
  start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n_predict; ++i) {
    if (should_stop && should_stop()) break;
    const int32_t next = sampler.sample(logits, history);
    if (tokenizer.is_eog(next)) {
      stats.stopped_at_eog = true;
      break;
    }
    history.push_back(next);
    if (generated) generated->push_back(next);
    stats.generated_tokens++;
    emit(decoder.push(next));
    if (i + 1 == n_predict || session.n_past() >= session.n_ctx()) break;
    const int32_t one[] = {next};
    logits = session.eval(one);
  }
  emit(decoder.finish());
  stats.generation_seconds = seconds_since(start);
  return stats;
}

}  // namespace vkgraph::cli
