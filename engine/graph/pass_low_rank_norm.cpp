// The last fusion of one-token graphs with LoRA adapters: each rms_norm_mul takes in the adapter
// work around it (rms_norm_low_rank, graph.h: LowRankNorm), so an adapter costs its mat-vec tails
// and no dispatch of its own. Without it a decode step with an adapter on all seven matrices
// of a llama layer runs four more dispatches per layer (the A products of q/k/v, o, gate/up
// and down), and on a CPU driver a dispatch costs tens of microseconds whatever its size.
//
// Two parts, each optional:
// - the delta before the norm: x = matmul_add(w, u, r) whose product carries a tail
//   (b, t = matmul(a, u)), an attention output's or an FFN's projection added to the residual
//   stream. The sum is the same with the delta added after the residual, so the mat-vec loses
//   its tail, the A product of u moves into the norm's dispatch, and the norm adds b t to x
//   before normalizing (and writes the sum, which the rest of the graph reads as x);
// - the products after it: a matmul or matmul_cat of small f16 matrices reading the norm's
//   result (the A products of the adapters on q/k/v or gate/up), computed by the same dispatch.

#include <fmt/format.h>

#include <optional>

#include "engine/graph/passes.h"

namespace vkgraph::passes {
namespace {

// The kernel (shaders/norm/rms_norm_low_rank.comp) gives each row of a low-rank matrix one of its
// 64 invocations (CPU-class devices) or at least two of its 128 (GPUs), and keeps the delta's t
// in 64 floats of shared memory.
constexpr int64_t kMaxRank = 64;

// How many times each node is read by a node the step runs: the earlier fusions left the nodes
// they folded in the graph, still naming their inputs.
std::vector<int> live_uses(const Graph& graph) {
  const std::vector<bool> live = live_nodes(graph);
  std::vector<int> uses(graph.size(), 0);
  for (size_t i = 0; i < graph.size(); ++i) {
    if (!live[i]) continue;
    for (TensorId in : graph.nodes()[i].inputs) ++uses[size_t(in.index)];
  }
  return uses;
}

bool single_row(const Shape& s) { return !s.empty() && element_count(s) == s.back(); }

// An f16 [rows, n_in] matrix of at most kMaxRank rows.
bool low_rank_matrix(const Node& m, int64_t n_in) {
  return m.dtype == DType::F16 && m.shape.size() == 2 && m.shape[0] <= kMaxRank && m.shape[1] == n_in;
}

struct Delta {
  TensorId sum;      // the matmul_add whose tail moves
  TensorId product;  // its tail's t: matmul(a, u)
};

// x as a one-token matmul_add with a tail on its product whose t is an A product read nowhere else.
std::optional<Delta> find_delta(const Graph& graph, const std::vector<int>& uses, TensorId x, int64_t n) {
  const Node& sum = graph.node(x);
  if (sum.op != OpKind::matmul_add || sum.output || sum.params.tails.mask != 1 || sum.inputs.size() != 5) {
    return std::nullopt;
  }
  const Node& b = graph.node(sum.inputs[3]);
  const TensorId t = sum.inputs[4];
  const Node& product = graph.node(t);
  if (product.op != OpKind::matmul || product.output || product.params.tails.mask != 0 || uses[size_t(t.index)] != 1) {
    return std::nullopt;
  }
  const Node& a = graph.node(product.inputs[0]);
  const Node& u = graph.node(product.inputs[1]);
  if (u.dtype != DType::F32 || !single_row(u.shape) || !low_rank_matrix(a, u.shape.back()) || b.dtype != DType::F16 ||
      b.shape != Shape{n, a.shape[0]}) {
    return std::nullopt;
  }
  return Delta{x, t};
}

// The first matmul or matmul_cat without tails reading `y` whose matrices are all low-rank.
std::optional<TensorId> find_products(const Graph& graph, const std::vector<int>& uses, TensorId y, int64_t n) {
  for (size_t j = 0; j < graph.size(); ++j) {
    const Node& m = graph.nodes()[j];
    if ((m.op != OpKind::matmul && m.op != OpKind::matmul_cat) || m.output || uses[j] == 0 ||
        m.params.tails.mask != 0 || m.inputs.back() != y) {
      continue;
    }
    bool all_low_rank = true;
    for (size_t k = 0; k + 1 < m.inputs.size(); ++k) {  // the matrices; x is the last input
      all_low_rank = all_low_rank && low_rank_matrix(graph.node(m.inputs[k]), n);
    }
    if (all_low_rank && int(m.inputs.size()) - 1 <= LowRankNorm::kMaxProducts) return TensorId{int32_t(j)};
  }
  return std::nullopt;
}

// A node whose result now lies in another's at `offset` elements.
void become_view(Node& node, TensorId of, int64_t offset) {
  node.op = OpKind::view;
  node.inputs = {of};
  node.params.tails = LowRankTails{};
  node.params.view_offset = offset;
}

}  // namespace

size_t fold_low_rank_into_norms(Graph& graph) {
  const std::vector<int> uses = live_uses(graph);
  const size_t original = graph.size();
  size_t folded = 0;
  for (size_t i = 0; i < original; ++i) {
    const Node& norm = graph.nodes()[i];
    if (norm.op != OpKind::rms_norm_mul || norm.output || uses[i] == 0 || !single_row(norm.shape)) continue;
    const int64_t n = norm.shape.back();
    if (n % 4 != 0) continue;  // every part of the result then starts 16-byte aligned, as vector loads want
    const TensorId norm_id{int32_t(i)}, x = norm.inputs[0], w = norm.inputs[1];
    const float eps = norm.params.eps;  // `norm` dangles once a node is appended
    const std::optional<Delta> delta = find_delta(graph, uses, x, n);
    const std::optional<TensorId> products = find_products(graph, uses, norm_id, n);
    if (!delta && !products) continue;

    Node fused;
    fused.op = OpKind::rms_norm_low_rank;
    fused.dtype = DType::F32;
    fused.params.eps = eps;
    fused.inputs = {x, w};
    int64_t width = n;
    if (delta) {
      // The sum without its tail, appended: the fused node reads it, the old id shows the new sum.
      Node plain = graph.node(delta->sum);
      const Node& product = graph.node(delta->product);
      fused.inputs = {TensorId{int32_t(graph.size())}, w, product.inputs[1], product.inputs[0], plain.inputs[3]};
      fused.params.low_rank.delta = true;
      fused.params.low_rank.factor = plain.params.tails.factor[0];
      plain.inputs.resize(3);  // w, u, r
      plain.params.tails = LowRankTails{};
      plain.name = fmt::format("matmul_add.{}", graph.size());
      graph.nodes().push_back(std::move(plain));
      width += n;
    }
    if (products) {
      const Node& m = graph.node(*products);
      fused.inputs.insert(fused.inputs.end(), m.inputs.begin(), m.inputs.end() - 1);
      fused.params.low_rank.products = uint8_t(m.inputs.size() - 1);
      width += m.shape.back();
    }
    fused.shape = Shape{1, width};
    fused.name = fmt::format("rms_norm_low_rank.{}", graph.size());
    const TensorId fused_id{int32_t(graph.size())};
    graph.nodes().push_back(std::move(fused));  // appended: the schedule orders it before its views

    int64_t offset = 0;
    if (delta) {
      become_view(graph.nodes()[size_t(delta->sum.index)], fused_id, 0);
      offset = n;
    }
    become_view(graph.nodes()[i], fused_id, offset);
    if (products) become_view(graph.nodes()[size_t(products->index)], fused_id, offset + n);
    ++folded;
  }
  return folded;
}

}  // namespace vkgraph::passes
