#pragma once
// The sampling options `run` and `chat` share: --temp, --top-k, --top-p, --min-p,
// --repeat-penalty and --seed, with llama.cpp's names.

#include <CLI/CLI.hpp>

#include <cstdint>

#include "models/sampler.h"

namespace vkgraph::cli {

struct SamplingOptions {
  models::SamplerParams params;
  int64_t seed = -1;  // -1: a random seed
};

void add_sampling_options(CLI::App& app, SamplingOptions& options);

// The parameters with the seed resolved (a random one when none was given).
models::SamplerParams resolve_sampling(const SamplingOptions& options);

}  // namespace vkgraph::cli
