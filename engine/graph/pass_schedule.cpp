#include <queue>

#include "engine/core/error.h"
#include "engine/graph/passes.h"

namespace vkgraph::passes {

std::vector<bool> live_nodes(const Graph& graph) {
  std::vector<bool> live(graph.size(), false);
  std::vector<TensorId> stack;
  for (size_t i = 0; i < graph.size(); ++i) {
    const Node& n = graph.nodes()[i];
    if (n.output || n.op == OpKind::kv_write) stack.push_back(TensorId{int32_t(i)});
  }
  while (!stack.empty()) {
    const TensorId id = stack.back();
    stack.pop_back();
    if (live[size_t(id.index)]) continue;
    live[size_t(id.index)] = true;
    for (TensorId in : graph.node(id).inputs) stack.push_back(in);
  }
  return live;
}

std::vector<TensorId> schedule(const Graph& graph, const std::vector<bool>& live) {
  // Kahn's algorithm taking the lowest ready index first: the graph's own order whenever it is
  // already topological (it is, except for nodes a pass appended).
  const size_t n = graph.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int32_t>> consumers(n);
  for (size_t i = 0; i < n; ++i) {
    if (!live[i]) continue;
    for (TensorId in : graph.nodes()[i].inputs) {
      ++pending[i];
      consumers[size_t(in.index)].push_back(int32_t(i));
    }
  }
  std::priority_queue<int32_t, std::vector<int32_t>, std::greater<>> ready;
  for (size_t i = 0; i < n; ++i) {
    if (live[i] && pending[i] == 0) ready.push(int32_t(i));
  }
  std::vector<TensorId> order;
  size_t visited = 0;
  while (!ready.empty()) {
    const int32_t i = ready.top();
    ready.pop();
    ++visited;
    const Node& node = graph.nodes()[size_t(i)];
    if (node.op != OpKind::leaf && node.op != OpKind::view) order.push_back(TensorId{i});
    for (int32_t c : consumers[size_t(i)]) {
      if (--pending[size_t(c)] == 0) ready.push(c);
    }
  }
  size_t live_count = 0;
  for (bool l : live) live_count += l ? 1 : 0;
  VKGRAPH_CHECK(visited == live_count, "plan: the graph has a cycle ({} of {} nodes ordered)", visited, live_count);
  return order;
}

std::vector<TensorId> step_reads(const Graph& graph, TensorId step) {
  const Node& n = graph.node(step);
  if (n.op == OpKind::kv_write) return {n.inputs[1], n.inputs[2]};
  return n.inputs;
}

TensorId step_write(const Graph&, TensorId step) { return step; }

}  // namespace vkgraph::passes
