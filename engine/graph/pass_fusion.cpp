#include <fmt/format.h>

#include "engine/graph/passes.h"

namespace vkgraph::passes {
namespace {

// How many times each node is read by another node (views count: they keep the bytes alive).
std::vector<int> use_counts(const Graph& graph) {
  std::vector<int> uses(graph.size(), 0);
  for (const Node& n : graph.nodes()) {
    for (TensorId in : n.inputs) ++uses[size_t(in.index)];
  }
  return uses;
}

// The inner node may disappear into its consumer: one use only, not read back by the host.
bool foldable(const Graph& graph, const std::vector<int>& uses, TensorId id, OpKind op) {
  const Node& n = graph.node(id);
  return n.op == op && !n.output && uses[size_t(id.index)] == 1;
}

// A default name ("mul.12") follows the node's new op; a name the builder chose stays.
void rename_fused(Node& n, size_t index) {
  if (n.name == fmt::format("mul.{}", index)) n.name = fmt::format("{}.{}", op_name(n.op), index);
}

// matmul(w, x) + r or r + matmul(w, x), r of the sum's shape, one token: the residual is added
// in the mat-vec's store (a dispatch and a write and re-read of the product fewer). Several
// tokens keep the tiled kernels, which have no epilogue.
bool fuse_matmul_add(Graph& graph, std::vector<int>& uses, Node& n, size_t index) {
  for (const auto& [product, residual] : {std::pair{n.inputs[0], n.inputs[1]}, std::pair{n.inputs[1], n.inputs[0]}}) {
    if (!foldable(graph, uses, product, OpKind::matmul)) continue;
    const Node& mm = graph.node(product);
    const Node& r = graph.node(residual);
    const Shape& x = graph.node(mm.inputs[1]).shape;
    if (r.shape != n.shape || r.dtype != DType::F32 || element_count(x) != x.back()) continue;
    const TensorId w = mm.inputs[0];
    const TensorId xi = mm.inputs[1];
    n.op = OpKind::matmul_add;
    n.inputs = {w, xi, residual};
    --uses[size_t(product.index)];
    if (n.name == fmt::format("add.{}", index)) n.name = fmt::format("matmul_add.{}", index);
    return true;
  }
  return false;
}

}  // namespace

size_t fuse(Graph& graph) {
  std::vector<int> uses = use_counts(graph);
  size_t fused = 0;
  for (size_t i = 0; i < graph.size(); ++i) {
    Node& n = graph.nodes()[i];
    if (n.op == OpKind::add) {
      fused += fuse_matmul_add(graph, uses, n, i) ? 1 : 0;
      continue;
    }
    if (n.op != OpKind::mul) continue;
    const TensorId a = n.inputs[0];
    const TensorId b = n.inputs[1];

    // rms_norm(x) * w with w [n]: one pass over x instead of a write and a re-read of the norm.
    if (foldable(graph, uses, a, OpKind::rms_norm) && graph.node(b).shape.size() == 1 &&
        graph.node(b).shape[0] == graph.node(a).shape.back()) {
      const Node& norm = graph.node(a);
      n.op = OpKind::rms_norm_mul;
      n.params.eps = norm.params.eps;
      n.inputs = {norm.inputs[0], b};
      --uses[size_t(a.index)];
      rename_fused(n, i);
      ++fused;
      continue;
    }

    // silu(g) * u or u * silu(g), same shapes: the gate activation never goes to memory.
    const Shape& sa = graph.node(a).shape;
    const Shape& sb = graph.node(b).shape;
    if (sa != sb) continue;
    for (const auto& [silu, up] : {std::pair{a, b}, std::pair{b, a}}) {
      if (!foldable(graph, uses, silu, OpKind::silu)) continue;
      n.op = OpKind::swiglu;
      n.inputs = {graph.node(silu).inputs[0], up};
      --uses[size_t(silu.index)];
      rename_fused(n, i);
      ++fused;
      break;
    }
  }
  return fused;
}

}  // namespace vkgraph::passes
