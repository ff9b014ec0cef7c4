#pragma once
// A weight's product with the activations as the step graph computes it: W x, plus for every
// applied LoRA adapter with a pair for W, factor * B (A x) (models/lora). The builders of the
// step graph call project() for every matrix an adapter may adapt, so adapters reach every
// architecture through this one function. The base weight stays as loaded (quantized or not);
// each adapter adds two small matmuls of rank r, a scale and an add: ordinary graph ops that
// every backend runs (the Vulkan lowering fuses them where that pays: models/arch/projection.cpp).

#include <span>

#include "engine/graph/graph.h"
#include "models/arch/weights.h"
#include "models/lora/lora_adapter.h"

namespace vkgraph::models {

// The weight's leaf in the graph (storage bound once, never copied).
TensorId weight_leaf(Graph& g, const WeightTensor& w);

// x: [..., n_in] -> [..., n_out] f32 for w [n_out, n_in]. Adapters with scale 0 are skipped.
TensorId project(Graph& g, const WeightTensor& w, TensorId x, std::span<const AdapterUse> adapters);

}  // namespace vkgraph::models
