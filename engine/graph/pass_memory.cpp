#include <algorithm>

#include "engine/core/error.h"
#include "engine/graph/passes.h"

namespace vkgraph::passes {
namespace {

size_t align_up(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

size_t tensor_bytes(const Node& n) {
  const auto last = size_t(n.shape.back());
  return size_t(element_count(n.shape)) / last * row_bytes(n.dtype, last);
}

// An arena tensor and the steps it must survive: [first, last] in schedule positions.
struct Interval {
  int32_t node = -1;
  size_t bytes = 0;
  size_t first = 0;
  size_t last = 0;
  size_t offset = 0;
};

bool overlap_in_time(const Interval& a, const Interval& b) { return a.first <= b.last && b.first <= a.last; }

}  // namespace

MemoryPlan plan_memory(const Graph& graph, const std::vector<bool>& live, const std::vector<TensorId>& order,
                       size_t alignment) {
  VKGRAPH_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0, "plan: arena alignment {} is not a power of two",
                alignment);
  const size_t n = graph.size();
  MemoryPlan plan;
  plan.locations.resize(n);
  plan.located.assign(n, false);
  std::vector<bool> scheduled(n, false);
  for (TensorId id : order) scheduled[size_t(id.index)] = true;

  // Leaves and op results first, then views (in topological order, so a view's input is placed).
  std::vector<Interval> arena;
  std::vector<int32_t> arena_index(n, -1);
  for (size_t i = 0; i < n; ++i) {
    const Node& node = graph.nodes()[i];
    if (!live[i] || node.op == OpKind::view) continue;
    Location& loc = plan.locations[i];
    loc.base = TensorId{int32_t(i)};
    loc.bytes = tensor_bytes(node);
    if (node.op == OpKind::leaf) {
      loc.placement = node.kind == TensorKind::input ? Placement::input : Placement::storage;
    } else if (node.op == OpKind::kv_write) {
      loc.placement = Placement::storage;  // the state it writes; Graph::kv_write checked it is a leaf
      loc.base = node.inputs[0];
    } else if (node.output) {
      loc.placement = Placement::output;
    } else {
      loc.placement = Placement::arena;
      arena_index[i] = int32_t(arena.size());
      arena.push_back(Interval{int32_t(i), align_up(loc.bytes, alignment), 0, 0, 0});
    }
    plan.located[i] = true;
  }
  // Views in an order where the viewed node comes first: repeat until all are placed (chains are short).
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t i = 0; i < n; ++i) {
      const Node& node = graph.nodes()[i];
      if (!live[i] || node.op != OpKind::view || plan.located[i]) continue;
      const TensorId in = node.inputs[0];
      if (!plan.located[size_t(in.index)]) continue;
      const Location& base = plan.locations[size_t(in.index)];
      Location& loc = plan.locations[i];
      loc.placement = base.placement;
      loc.base = base.base;
      loc.offset = base.offset + row_bytes(node.dtype, size_t(node.params.view_offset));
      loc.bytes = tensor_bytes(node);
      plan.located[i] = true;
      progress = true;
    }
  }

  // Lifetimes: from the producing step to the last step that reads it or any view of it.
  for (size_t s = 0; s < order.size(); ++s) {
    const int32_t ai = arena_index[size_t(order[s].index)];
    if (ai >= 0) arena[size_t(ai)].first = arena[size_t(ai)].last = s;
  }
  for (size_t s = 0; s < order.size(); ++s) {
    for (TensorId r : step_reads(graph, order[s])) {
      const Location& loc = plan.locations[size_t(r.index)];
      if (loc.placement != Placement::arena) continue;
      Interval& iv = arena[size_t(arena_index[size_t(loc.base.index)])];
      iv.last = std::max(iv.last, s);
    }
  }

  // Largest first, each at the lowest offset clear of every placed tensor alive at the same time.
  std::vector<size_t> by_size(arena.size());
  for (size_t i = 0; i < by_size.size(); ++i) by_size[i] = i;
  std::stable_sort(by_size.begin(), by_size.end(), [&](size_t a, size_t b) { return arena[a].bytes > arena[b].bytes; });
  std::vector<size_t> placed;
  for (size_t k : by_size) {
    Interval& iv = arena[k];
    std::vector<const Interval*> conflicts;
    for (size_t p : placed) {
      if (overlap_in_time(iv, arena[p])) conflicts.push_back(&arena[p]);
    }
    std::sort(conflicts.begin(), conflicts.end(),
              [](const Interval* a, const Interval* b) { return a->offset < b->offset; });
    size_t offset = 0;
    for (const Interval* c : conflicts) {
      if (offset + iv.bytes <= c->offset) break;
      offset = std::max(offset, c->offset + c->bytes);
    }
    iv.offset = offset;
    placed.push_back(k);
    plan.arena_bytes = std::max(plan.arena_bytes, offset + iv.bytes);
    plan.naive_bytes += iv.bytes;
  }
  for (const Interval& iv : arena) plan.locations[size_t(iv.node)].offset = iv.offset;
  // Views of arena tensors were placed before the offsets were known: add them now.
  for (size_t i = 0; i < n; ++i) {
    const Node& node = graph.nodes()[i];
    if (!plan.located[i] || node.op != OpKind::view || plan.locations[i].placement != Placement::arena) continue;
    plan.locations[i].offset += plan.locations[size_t(plan.locations[i].base.index)].offset;
  }
  return plan;
}

}  // namespace vkgraph::passes
