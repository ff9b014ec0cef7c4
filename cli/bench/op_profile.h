#pragma once
// `vkgraph bench --ops`: one step (a decode step, or a prompt batch) at a given KV depth,
// prepared with per-dispatch timestamps, broken down by op and kernel (time, share of the step,
// estimated GB/s).

#include <cstdint>
#include <span>

#include "cli/bench/bench_row.h"
#include "engine/backend/backend.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"

namespace vkgraph::bench {

// Runs the step of n_tokens tokens against a cache of n_slots positions whose first `depth` are
// filled,
// `runs` times after a warm-up, alternating runs with and without timestamps, and reports
// the fastest of each. The cache holds zeros:
// speed does not depend on its values. Backends without timestamps give an empty `ops`.
// `adapters`: LoRA adapters applied unmerged in the step.
OpProfile profile_step(const models::Model& model, Backend& backend, int64_t n_slots, int64_t depth, int64_t n_tokens,
                       int runs, std::span<const models::AdapterUse> adapters = {});

}  // namespace vkgraph::bench
