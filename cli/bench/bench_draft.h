#pragma once
// `vkgraph bench --draft ...`: speculative decoding against plain decoding, measured in the same
// run. For each draft, each repetition generates the same N tokens greedily (end-of-text tokens
// ignored) from the same prompt twice, plainly and with the drafts, alternating so that a change
// in the machine's load hits both; the rows report the acceptance rate, tokens per target step,
// both speeds and the speed-up = plain time / speculative time (= plain step time x tokens /
// speculative time), and whether both runs produced the same tokens (they must, greedy).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "models/model.h"
#include "models/speculative/speculative_params.h"

namespace vkgraph::cli {

struct DraftBenchSpec {
  std::string kind;                      // "ngram", "self" (the target drafts for itself) or "model"
  std::string label;                     // as the table shows it
  const models::Model* model = nullptr;  // "model": loaded by the caller on the target's backend
};

struct DraftBenchConfig {
  std::vector<int64_t> n_gen{128};
  int reps = 3;
  models::SpeculativeParams params;
  int32_t ngram_min = 2;
  float p_min = 0.0f;
  std::string prompt;  // text, tokenized with the target's vocabulary
};

struct DraftBenchRow {
  std::string model, device, backend, draft;
  int64_t n_prompt = 0, n_gen = 0;
  int reps = 0;
  models::SpeculativeStats stats;  // of the last repetition (greedy: every repetition's)
  std::vector<double> plain_seconds, speculative_seconds, speedups;
  bool same_output = true;
  double plain_step_ms() const;  // plain time / decode steps, averaged
  // Of the last repetition's speculative run: a target step (verification or plain) and the
  // drafting before it, per target step.
  double target_step_ms() const;
  double draft_ms_per_step() const;
  double plain_tps() const;
  double speculative_tps() const;
  double speedup_mean() const;
  double speedup_stddev() const;
};

using DraftBenchProgress = std::function<void(const std::string& status)>;

std::vector<DraftBenchRow> run_draft_bench(const models::Model& target, Backend& backend, const std::string& device,
                                           const std::vector<DraftBenchSpec>& drafts, const DraftBenchConfig& config,
                                           const DraftBenchProgress& progress);

std::string format_draft_rows(const std::vector<DraftBenchRow>& rows, const std::string& format);

}  // namespace vkgraph::cli
