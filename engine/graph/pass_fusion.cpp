#include <fmt/format.h>

#include <algorithm>
#include <utility>

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

// One token of activations: the product is a single row, so products side by side stay
// contiguous ranges of one result.
bool one_token(const Graph& graph, TensorId x) {
  const Shape& s = graph.node(x).shape;
  return !s.empty() && element_count(s) == s.back();
}

// One token, or tokens that are decode rows (Graph::decode_rows: every row runs the one-token
// kernels): the mat-vec epilogues (a residual, the SwiGLU activation) apply to each row as they
// do to one token, so the fusions that need nothing more than that take either.
bool mat_vec_rows(const Graph& graph, TensorId x) { return graph.decode_rows() || one_token(graph, x); }

// matmul(w, x) + factor * matmul(b, t) (the factor a scale node, or 1 without one), either order,
// one token of f32 activations, b f16 [n_out, r]: the low-rank product (a LoRA adapter's B (A x),
// models/arch/projection.h) becomes a tail of the mat-vec, summed in its store, so the adapter
// costs no dispatch of its own there and the product stays a matmul the fusions below still
// take (matmul_add, matmul_swiglu, matmul_cat). Only a plain matmul takes a tail: a second
// adapter on the same weight stays an add.
bool fuse_low_rank_tail(Graph& graph, std::vector<int>& uses, Node& n, size_t index) {
  for (const auto& [product, delta] : {std::pair{n.inputs[0], n.inputs[1]}, std::pair{n.inputs[1], n.inputs[0]}}) {
    if (!foldable(graph, uses, product, OpKind::matmul)) continue;
    const Node& mm = graph.node(product);
    if (mm.params.tails.mask != 0 || !one_token(graph, mm.inputs[1]) || graph.node(mm.inputs[1]).dtype != DType::F32) {
      continue;
    }
    float factor = 1.0f;
    TensorId low = delta;
    const bool scaled = foldable(graph, uses, delta, OpKind::scale);
    if (scaled) {
      factor = graph.node(delta).params.scale;
      low = graph.node(delta).inputs[0];
    }
    if (!foldable(graph, uses, low, OpKind::matmul)) continue;
    const Node& lr = graph.node(low);
    const Node& b = graph.node(lr.inputs[0]);
    if (lr.params.tails.mask != 0 || lr.shape != mm.shape || b.dtype != DType::F16 ||
        graph.node(lr.inputs[1]).dtype != DType::F32 || !one_token(graph, lr.inputs[1])) {
      continue;
    }
    const std::vector<TensorId> inputs{mm.inputs[0], mm.inputs[1], lr.inputs[0], lr.inputs[1]};
    n.op = OpKind::matmul;
    n.inputs = inputs;
    n.params.tails = LowRankTails{};
    n.params.tails.mask = 1;
    n.params.tails.factor[0] = factor;
    --uses[size_t(product.index)];
    --uses[size_t(delta.index)];
    if (scaled) --uses[size_t(low.index)];  // read only by the scale, now unused
    if (n.name == fmt::format("add.{}", index)) n.name = fmt::format("matmul.{}", index);
    return true;
  }
  return false;
}

// The tail inputs of member `member` of `node`, or none.
std::vector<TensorId> member_tail(const Node& node, int member) {
  if (!node.params.tails.has(member)) return {};
  const size_t b = tail_input_index(node, member);
  return {node.inputs[b], node.inputs[b + 1]};
}

// matmul(w, x) + r or r + matmul(w, x), r of the sum's shape, one token or decode rows: the
// residual is added in the mat-vec's store (a dispatch and a write and re-read of the product
// fewer). Other steps of several tokens keep the tiled kernels, which have no epilogue. A tail
// of the product stays one.
bool fuse_matmul_add(Graph& graph, std::vector<int>& uses, Node& n, size_t index) {
  for (const auto& [product, residual] : {std::pair{n.inputs[0], n.inputs[1]}, std::pair{n.inputs[1], n.inputs[0]}}) {
    if (!foldable(graph, uses, product, OpKind::matmul)) continue;
    const Node& mm = graph.node(product);
    const Node& r = graph.node(residual);
    if (r.shape != n.shape || r.dtype != DType::F32 || !mat_vec_rows(graph, mm.inputs[1])) continue;
    std::vector<TensorId> inputs{mm.inputs[0], mm.inputs[1], residual};
    for (TensorId t : member_tail(mm, 0)) inputs.push_back(t);
    n.params.tails = mm.params.tails;
    n.op = OpKind::matmul_add;
    n.inputs = inputs;
    --uses[size_t(product.index)];
    if (n.name == fmt::format("add.{}", index)) n.name = fmt::format("matmul_add.{}", index);
    return true;
  }
  return false;
}

// swiglu(matmul(w_g, x), matmul(w_u, x)), both products read only there, one token or decode
// rows, weights of one type and shape: one pass over x computes both rows and the gate never goes
// to memory.
bool fuse_matmul_swiglu(Graph& graph, std::vector<int>& uses, Node& n, size_t index) {
  const TensorId gate = n.inputs[0];
  const TensorId up = n.inputs[1];
  if (!foldable(graph, uses, gate, OpKind::matmul) || !foldable(graph, uses, up, OpKind::matmul)) return false;
  const Node& g = graph.node(gate);
  const Node& u = graph.node(up);
  const Node& wg = graph.node(g.inputs[0]);
  const Node& wu = graph.node(u.inputs[0]);
  if (g.inputs[1] != u.inputs[1] || !mat_vec_rows(graph, g.inputs[1]) || wg.dtype != wu.dtype || wg.shape != wu.shape) {
    return false;
  }
  std::vector<TensorId> inputs{g.inputs[0], u.inputs[0], g.inputs[1]};
  LowRankTails tails;
  for (int member = 0; member < 2; ++member) {
    const Node& mm = member == 0 ? g : u;
    if (!mm.params.tails.has(0)) continue;
    for (TensorId t : member_tail(mm, 0)) inputs.push_back(t);
    tails.mask |= uint8_t(1u << member);
    tails.factor[size_t(member)] = mm.params.tails.factor[0];
  }
  n.inputs = inputs;
  n.params.tails = tails;
  n.op = OpKind::matmul_swiglu;
  --uses[size_t(gate.index)];
  --uses[size_t(up.index)];
  if (n.name == fmt::format("swiglu.{}", index) || n.name == fmt::format("mul.{}", index)) {
    n.name = fmt::format("matmul_swiglu.{}", index);
  }
  return true;
}

// Whether `later` reads `earlier`'s result, through any chain of nodes. Both read the same x, so
// a chain between them runs through nodes after x (or appended by a pass): the search stops at
// x's index.
bool reads_from(const Graph& graph, TensorId later, TensorId earlier, TensorId x) {
  std::vector<TensorId> stack{later};
  std::vector<bool> seen(graph.size(), false);
  while (!stack.empty()) {
    const TensorId id = stack.back();
    stack.pop_back();
    for (TensorId in : graph.node(id).inputs) {
      if (in == earlier) return true;
      if (in.index <= x.index || seen[size_t(in.index)]) continue;
      seen[size_t(in.index)] = true;
      stack.push_back(in);
    }
  }
  return false;
}

// The matmuls still in the graph that read the same one-token x with weights of one type and
// n_in (q, k and v of an attention block), in graph order, up to three at a time: one matmul_cat
// node appended to the graph computes them side by side, and each former matmul becomes a view
// of its range, so its consumers (rope, kv_write, ...) read it where it lies, without a copy.
// Low-rank tails go along (member i's tail becomes the cat's member i's); a matmul whose tail
// reads another candidate (a LoRA adapter's A x, which reads the same x) is never grouped with
// it: the group would read its own result. The matmuls tails read are grouped in a second round,
// after the others: the adapted q, k and v then stay side by side in one product (so their
// ropes still merge) and the adapters' A products form their own.
size_t group_matmuls(Graph& graph, const std::vector<int>& uses) {
  constexpr size_t kMaxGroup = 3;  // the weight bindings of matmul/rows_cat_*
  const size_t original = graph.size();
  std::vector<bool> grouped(original, false);
  std::vector<bool> tail_input(original, false);
  for (const Node& n : graph.nodes()) {
    if (n.params.tails.mask == 0 || n.op == OpKind::view) continue;
    for (int member = 0; member < LowRankTails::kMaxMembers; ++member) {
      if (n.params.tails.has(member)) tail_input[size_t(n.inputs[tail_input_index(n, member) + 1].index)] = true;
    }
  }
  size_t groups = 0;
  for (size_t visit = 0; visit < 2 * original; ++visit) {
    const size_t i = visit % original;
    const bool second_round = visit >= original;
    const Node& first = graph.nodes()[i];
    // A matmul nothing reads any more was folded into another node (matmul_add, swiglu); an
    // output keeps its own buffer (materialize_outputs), so it cannot become a view.
    if (first.op != OpKind::matmul || grouped[i] || uses[i] == 0 || first.output) continue;
    if (tail_input[i] != second_round) continue;
    const TensorId x = first.inputs[1];
    if (!one_token(graph, x)) continue;
    const Node& w0 = graph.node(first.inputs[0]);
    std::vector<size_t> members{i};
    for (size_t j = i + 1; j < original && members.size() < kMaxGroup; ++j) {
      const Node& other = graph.nodes()[j];
      if (other.op != OpKind::matmul || grouped[j] || uses[j] == 0 || other.output || other.inputs[1] != x ||
          tail_input[j] != second_round) {
        continue;
      }
      // The same weight twice is one product computed twice, not two products.
      bool repeated = false, dependent = false;
      for (size_t member : members) {
        repeated = repeated || graph.nodes()[member].inputs[0] == other.inputs[0];
        const TensorId m_id{int32_t(member)}, j_id{int32_t(j)};
        dependent = dependent || reads_from(graph, j_id, m_id, x) || reads_from(graph, m_id, j_id, x);
      }
      const Node& w = graph.node(other.inputs[0]);
      if (!repeated && !dependent && w.dtype == w0.dtype && w.shape.size() == 2 && w.shape[1] == w0.shape[1]) {
        members.push_back(j);
      }
    }
    if (members.size() < 2) continue;

    Node cat;
    cat.op = OpKind::matmul_cat;
    cat.dtype = DType::F32;
    cat.shape = first.shape;  // [..., n_0 + n_1 + ...]: x's leading dimensions, all of them 1
    cat.shape.back() = 0;
    for (size_t member : members) {
      cat.inputs.push_back(graph.nodes()[member].inputs[0]);
      cat.shape.back() += graph.nodes()[member].shape.back();
    }
    cat.inputs.push_back(x);
    for (size_t k = 0; k < members.size(); ++k) {
      const Node& mm = graph.nodes()[members[k]];
      if (!mm.params.tails.has(0)) continue;
      for (TensorId t : member_tail(mm, 0)) cat.inputs.push_back(t);
      cat.params.tails.mask |= uint8_t(1u << k);
      cat.params.tails.factor[k] = mm.params.tails.factor[0];
    }
    cat.name = fmt::format("matmul_cat.{}", graph.size());
    const TensorId cat_id{int32_t(graph.size())};
    graph.nodes().push_back(std::move(cat));  // appended: the schedule orders it before its views

    int64_t offset = 0;
    for (size_t member : members) {
      Node& mm = graph.nodes()[member];
      mm.op = OpKind::view;
      mm.inputs = {cat_id};
      mm.params.tails = LowRankTails{};  // now the cat's
      mm.params.view_offset = offset;    // elements: the range of this product in the single row
      offset += mm.shape.back();
      grouped[member] = true;
    }
    ++groups;
  }
  return groups;
}

// The tensor whose bytes `id` shows and the element where they start there (through views).
std::pair<TensorId, int64_t> view_base(const Graph& graph, TensorId id) {
  int64_t offset = 0;
  while (graph.node(id).op == OpKind::view) {
    offset += graph.node(id).params.view_offset;
    id = graph.node(id).inputs[0];
  }
  return {id, offset};
}

bool same_rope(const RopeParams& a, const RopeParams& b) {
  return a.mode == b.mode && a.n_rot == b.n_rot && a.freq_base == b.freq_base && a.freq_scale == b.freq_scale;
}

// Two one-token ropes with the same positions and parameters whose inputs are neighbouring
// ranges of one tensor (q and k of a matmul_cat, when the keys are not rotated by attention):
// one rope over the joined range, appended, with the two results as views of it. The heads of
// both are rotated alike, so the joined rope computes exactly what the two did.
size_t merge_ropes(Graph& graph) {
  const std::vector<int> uses = use_counts(graph);
  const size_t original = graph.size();
  std::vector<bool> merged(original, false);
  auto candidate = [&](size_t i) {
    const Node& n = graph.nodes()[i];
    return n.op == OpKind::rope && !merged[i] && uses[i] > 0 && !n.output && n.shape.size() == 3 && n.shape[0] == 1;
  };
  size_t count = 0;
  for (size_t i = 0; i < original; ++i) {
    if (!candidate(i)) continue;
    const auto [base, first] = view_base(graph, graph.nodes()[i].inputs[0]);
    for (size_t j = 0; j < original; ++j) {
      if (j == i || !candidate(j)) continue;
      const Node& a = graph.nodes()[i];
      const Node& b = graph.nodes()[j];
      const auto [base_b, first_b] = view_base(graph, b.inputs[0]);
      // Same positions and the same frequency factors (or none): inputs from the second on.
      const bool same_inputs = std::equal(a.inputs.begin() + 1, a.inputs.end(), b.inputs.begin() + 1, b.inputs.end());
      if (base_b != base || first_b != first + element_count(a.shape) || !same_inputs || b.shape[2] != a.shape[2] ||
          !same_rope(a.params.rope, b.params.rope)) {
        continue;
      }
      const Shape joined{1, a.shape[1] + b.shape[1], a.shape[2]};  // [1, n_head_a + n_head_b, d]
      Node view;
      view.op = OpKind::view;
      view.dtype = DType::F32;
      view.shape = joined;
      view.inputs = {base};
      view.params.view_offset = first;
      view.name = fmt::format("view.{}", graph.size());
      const TensorId view_id{int32_t(graph.size())};
      Node rope;
      rope.op = OpKind::rope;
      rope.dtype = DType::F32;
      rope.shape = joined;
      rope.inputs = a.inputs;
      rope.inputs[0] = view_id;
      rope.params.rope = a.params.rope;
      rope.name = fmt::format("rope.{}", graph.size() + 1);
      const TensorId rope_id{int32_t(graph.size() + 1)};
      const int64_t a_count = element_count(a.shape);
      graph.nodes().push_back(std::move(view));
      graph.nodes().push_back(std::move(rope));
      for (const auto& [index, offset] : {std::pair{i, int64_t(0)}, std::pair{j, a_count}}) {
        Node& n = graph.nodes()[index];
        n.op = OpKind::view;
        n.inputs = {rope_id};
        n.params.view_offset = offset;
        merged[index] = true;
      }
      ++count;
      break;
    }
  }
  return count;
}

}  // namespace

size_t fuse(Graph& graph, const std::vector<OpKind>& allowed) {
  const auto has = [&](OpKind op) { return std::find(allowed.begin(), allowed.end(), op) != allowed.end(); };
  std::vector<int> uses = use_counts(graph);
  size_t fused = 0;
  for (size_t i = 0; i < graph.size(); ++i) {
    Node& n = graph.nodes()[i];
    if (n.op == OpKind::add) {
      fused += fuse_low_rank_tail(graph, uses, n, i) || (has(OpKind::matmul_add) && fuse_matmul_add(graph, uses, n, i))
                   ? 1
                   : 0;
      continue;
    }
    if (n.op != OpKind::mul) continue;
    const TensorId a = n.inputs[0];
    const TensorId b = n.inputs[1];

    // rms_norm(x) * w with w [n]: one pass over x instead of a write and a re-read of the norm.
    if (has(OpKind::rms_norm_mul) && foldable(graph, uses, a, OpKind::rms_norm) && graph.node(b).shape.size() == 1 &&
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
    if (!has(OpKind::swiglu) || sa != sb) continue;
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
  // After the element-wise fusions, so swiglu nodes made from silu * mul are seen too, and
  // before grouping, which must not take the gate and up products.
  for (size_t i = 0; i < graph.size() && has(OpKind::matmul_swiglu); ++i) {
    Node& n = graph.nodes()[i];
    if (n.op == OpKind::swiglu) fused += fuse_matmul_swiglu(graph, uses, n, i) ? 1 : 0;
  }
  if (has(OpKind::matmul_cat)) fused += group_matmuls(graph, uses);
  fused += merge_ropes(graph);  // a wider rope over views: no new op, every backend runs it
  // Last: it takes the A products grouped above and the tails made above.
  if (has(OpKind::rms_norm_low_rank)) fused += fold_low_rank_into_norms(graph);
  return fused;
}

}  // namespace vkgraph::passes
