#pragma once
// RoPE frequency factors (Llama 3.1's rope_freqs.weight, ggml's freq_factors): an optional f32
// [n_rot / 2] input of a rope op (its third) or of an attention op whose keys are rotated as they
// are read (AttentionParams::rotate_keys; its sixth). Pair i's angle is divided by factor i:
// theta_i = pos * freq_scale * freq_base^(-2i / n_rot) / factor_i. Every backend reads the input
// when it is there; without it the factors are all 1.

#include "engine/graph/graph.h"

namespace vkgraph {

// Gives `op` (a rope, or an attention with rotate_keys, just built) the frequency factors
// `factors` (f32 [n_rot / 2]) and returns it; an invalid `factors` leaves it as it is.
TensorId with_freq_factors(Graph& graph, TensorId op, TensorId factors);

// The frequency-factor input of a rope or attention node, or an invalid id without one.
TensorId freq_factors_of(const Graph& graph, TensorId op);

}  // namespace vkgraph
