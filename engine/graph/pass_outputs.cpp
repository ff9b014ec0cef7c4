#include "engine/graph/passes.h"

namespace vkgraph::passes {

void materialize_outputs(Graph& graph) {
  const size_t n = graph.size();
  for (size_t i = 0; i < n; ++i) {
    const OpKind op = graph.nodes()[i].op;
    if (!graph.nodes()[i].output || (op != OpKind::view && op != OpKind::kv_write)) continue;
    // The aliasing node moves to a new id; the marked id becomes a copy of it.
    Node alias = graph.nodes()[i];
    alias.output = false;
    alias.name += ".alias";
    graph.nodes().push_back(alias);
    const TensorId alias_id{int32_t(graph.size() - 1)};
    Node& out = graph.nodes()[i];
    out.op = OpKind::convert;
    out.params.dtype = out.dtype;
    out.inputs = {alias_id};
  }
}

}  // namespace vkgraph::passes
