#pragma once
// Knobs and counters of speculative decoding, shared by the decode loop, the CLI, the C API and
// the benchmark.

#include <cstdint>

namespace vkgraph::models {

struct SpeculativeParams {
  int32_t draft_max = 8;  // --draft-max: tokens drafted per target step at most
  // --draft-min: a proposal shorter than this is not worth a verification step; the target then
  // runs a plain decode step (0 and 1: any draft is verified).
  int32_t draft_min = 0;
};

// The spare KV slots (SessionOptions::spare_slots) a target session needs to verify up to
// draft_max drafted tokens after the last drawn one without evicting anything.
inline int64_t verification_slots(const SpeculativeParams& params) { return int64_t(params.draft_max) + 1; }

struct SpeculativeStats {
  int64_t target_steps = 0;   // target steps of the generation: verification steps and plain ones
  int64_t verify_steps = 0;   // of them, steps that verified at least one drafted token
  int64_t drafted = 0;        // drafted tokens the target verified
  int64_t accepted = 0;       // of them, accepted
  int64_t tokens = 0;         // tokens the target steps produced
  double draft_seconds = 0;   // proposing (draft model steps, n-gram lookup)
  double target_seconds = 0;  // the target's steps and the verdicts

  double acceptance_rate() const { return drafted > 0 ? double(accepted) / double(drafted) : 0.0; }
  double tokens_per_step() const { return target_steps > 0 ? double(tokens) / double(target_steps) : 0.0; }
};

}  // namespace vkgraph::models
