#include "engine/graph/freq_factors.h"

#include "engine/core/error.h"

namespace vkgraph {
namespace {

// Where the factors go among the op's inputs, and the rotation they belong to.
size_t factor_input(const Node& n) { return n.op == OpKind::rope ? 2 : 5; }

}  // namespace

TensorId with_freq_factors(Graph& graph, TensorId op, TensorId factors) {
  if (!factors.valid()) return op;
  const Node& n = graph.node(op);
  VKGRAPH_CHECK(n.op == OpKind::rope || (n.op == OpKind::attention && n.params.attention.rotate_keys),
                "frequency factors: '{}' is neither a rope nor an attention that rotates keys", n.name);
  VKGRAPH_CHECK(n.inputs.size() == factor_input(n), "frequency factors: '{}' already has them", n.name);
  const RopeParams& rope = n.op == OpKind::rope ? n.params.rope : n.params.attention.key_rope;
  const Node& f = graph.node(factors);
  VKGRAPH_CHECK(f.dtype == DType::F32 && f.shape == Shape{rope.n_rot / 2},
                "frequency factors '{}' of '{}' must be f32 [n_rot / 2 = {}], got {} {}", f.name, n.name,
                rope.n_rot / 2, dtype_name(f.dtype), shape_string(f.shape));
  graph.nodes()[size_t(op.index)].inputs.push_back(factors);
  return op;
}

TensorId freq_factors_of(const Graph& graph, TensorId op) {
  const Node& n = graph.node(op);
  return n.inputs.size() > factor_input(n) ? n.inputs[factor_input(n)] : TensorId{};
}

}  // namespace vkgraph
