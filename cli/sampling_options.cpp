#include "cli/sampling_options.h"

#include <random>

namespace vkgraph::cli {

void add_sampling_options(CLI::App& app, SamplingOptions& o) {
  app.add_option("--temp", o.params.temperature, "temperature; 0 is greedy and reproducible")->capture_default_str();
  app.add_option("--top-k", o.params.top_k, "keep the k most likely tokens (0: off)")->capture_default_str();
  app.add_option("--top-p", o.params.top_p, "nucleus sampling threshold (1: off)")->capture_default_str();
  app.add_option("--min-p", o.params.min_p, "drop tokens below min-p times the best (0: off)")->capture_default_str();
  app.add_option("--repeat-penalty", o.params.repeat_penalty, "penalty for recent tokens (1: off)")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "sampling seed (default: random)");
}

models::SamplerParams resolve_sampling(const SamplingOptions& o) {
  models::SamplerParams params = o.params;
  params.seed = o.seed >= 0 ? uint64_t(o.seed) : std::random_device{}();
  return params;
}

}  // namespace vkgraph::cli
