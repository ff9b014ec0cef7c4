#pragma once
// When a step's logits hold NaN or infinities, which op made the first one? The step is run
// again with the results of its ops kept (a window of them at a time, within a memory budget)
// and read back in execution order; the first op whose result is not finite is named with its
// inputs, and a weight or cache input that itself holds non-finite values is named as the cause.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "models/arch/step_graph.h"

namespace vkgraph::models {

// The host inputs the step ran with (Session::eval_chunk's).
struct StepInputs {
  std::vector<int32_t> tokens, positions, slots, kv_pos;
};

// "op matmul 'matmul.14' [1, 256] f32 is the first to produce a non-finite value (nan at
// element 3); its inputs: weight 'blk.0.attn_q.weight' q8_0 holds 1 non-finite block scale (...),
// 'rms_norm_mul.12' [1, 256] f32 finite". Running the step again rewrites the same K/V rows.
std::string trace_first_non_finite(const StepGraph& step, Backend& backend, const StepInputs& inputs);

}  // namespace vkgraph::models
