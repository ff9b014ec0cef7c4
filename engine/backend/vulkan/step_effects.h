#pragma once
// What a plan's steps touch, for the lowerings that move one step's effect into another step's
// dispatch (lowering_rope_kv.cpp, lowering_add_norm.cpp): such a move is only made where the
// plan's barriers show that no other step can tell.

#include <cstddef>
#include <utility>

#include "engine/graph/plan.h"

namespace vkgraph::vk {

// Whether two locations share bytes (same buffer: the arena, or one base's storage).
bool locations_overlap(const Location& a, const Location& b);

// Whether step `s` reads or writes bytes of `region`.
bool step_touches(const Plan& plan, const Step& s, const Location& region);

// The barrier group of step `index`: steps [first, last], between two barriers, none of which
// depends on another.
std::pair<size_t, size_t> barrier_group(const Plan& plan, size_t index);

// The node a chain of views starts from.
TensorId view_source(const Graph& graph, TensorId id);

}  // namespace vkgraph::vk
