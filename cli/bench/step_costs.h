#pragma once
// The decode step's overheads, for `vkgraph bench` tg rows: how many bytes one replayed decode
// step reads against what it must read (the weights and the K/V of the positions it attends),
// and how much of the step is host work (inputs, getting the replay submitted, reading the
// logits back) rather than waiting for the device.

#include <cstdint>
#include <span>

#include "cli/bench/bench_row.h"
#include "engine/backend/backend.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"

namespace vkgraph::bench {

// One decode step after `depth` cached positions, in a cache of exactly depth + 1 slots (so the
// kernels' read estimates, which count every slot, count just the positions the step sees),
// prepared once and replayed `runs` times after a warm-up as Session::eval replays it. Reports
// the fastest run. Fields the backend cannot measure stay unset (see DecodeStepCosts).
// `adapters`: LoRA adapters applied unmerged in the step.
DecodeStepCosts measure_decode_step(const models::Model& model, Backend& backend, int64_t depth, int runs,
                                    std::span<const models::AdapterUse> adapters = {});

}  // namespace vkgraph::bench
