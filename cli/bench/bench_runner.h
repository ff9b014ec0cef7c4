#pragma once
// Runs llama-bench style tests of one model on one backend: pp<N> times one batched eval of N
// prompt tokens, tg<N> times N single-token evals; each after `depth` positions of the KV cache
// are filled, `reps` times after a warm-up, reporting mean and standard deviation of tokens/s.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cli/bench/bench_row.h"
#include "engine/backend/backend.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"

namespace vkgraph::bench {

struct BenchConfig {
  std::vector<int64_t> n_prompt{512};  // pp tests; 0 entries are skipped
  std::vector<int64_t> n_gen{128};     // tg tests; 0 entries are skipped
  std::vector<int64_t> depth{0};
  int reps = 5;
  bool ops = false;   // per-op profile of one step: each pp test's batch, the decode step of tg rows
  uint64_t seed = 1;  // the random prompt tokens
  // LoRA adapters of the model applied unmerged in every step measured (Session::set_adapters).
  std::vector<models::AdapterUse> adapters;
};

// Checks the lists and counts (Error naming the flag and the value on a bad one).
void check_config(const BenchConfig& config);

// The context size a run needs: the largest depth plus the largest test.
int64_t context_needed(const BenchConfig& config);

// Status text while measuring ("tg32 @ d0: rep 2/5"), for a progress line.
using ProgressFn = std::function<void(const std::string& status)>;

// Every test of `config` for one model on one backend, in the order depth, pp tests, tg tests.
// `model_report` and `device` are copied into each row.
std::vector<BenchRow> run_bench(const models::Model& model, Backend& backend, const ModelReport& model_report,
                                const DeviceReport& device, const BenchConfig& config, const ProgressFn& progress);

// Mean and sample standard deviation (n - 1; 0 for fewer than two values).
double mean_of(const std::vector<double>& v);
double stddev_of(const std::vector<double>& v);

}  // namespace vkgraph::bench
