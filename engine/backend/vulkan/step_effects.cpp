#include "engine/backend/vulkan/step_effects.h"

namespace vkgraph::vk {

bool locations_overlap(const Location& a, const Location& b) {
  const bool a_arena = a.placement == Placement::arena, b_arena = b.placement == Placement::arena;
  if (a_arena != b_arena || (!a_arena && a.base != b.base)) return false;
  return a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
}

bool step_touches(const Plan& plan, const Step& s, const Location& region) {
  for (TensorId r : plan.step_reads(s)) {
    if (locations_overlap(plan.location(r), region)) return true;
  }
  return locations_overlap(plan.location(plan.step_write(s)), region);
}

std::pair<size_t, size_t> barrier_group(const Plan& plan, size_t index) {
  const std::vector<Step>& steps = plan.steps();
  size_t first = index, last = index;
  while (first > 0 && !steps[first].barrier_before) --first;
  while (last + 1 < steps.size() && !steps[last + 1].barrier_before) ++last;
  return {first, last};
}

TensorId view_source(const Graph& graph, TensorId id) {
  while (graph.node(id).op == OpKind::view) id = graph.node(id).inputs[0];
  return id;
}

}  // namespace vkgraph::vk
