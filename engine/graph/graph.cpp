#include "engine/graph/graph.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "engine/core/error.h"

namespace vkgraph {

std::string shape_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

int64_t element_count(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const std::vector<OpKind>& fused_op_kinds() {
  static const std::vector<OpKind> ops = {OpKind::rms_norm_mul, OpKind::swiglu,        OpKind::matmul_add,
                                          OpKind::matmul_cat,   OpKind::matmul_swiglu, OpKind::rms_norm_low_rank};
  return ops;
}

std::vector<OpKind> fused_op_kinds_except(OpKind op) {
  std::vector<OpKind> ops = fused_op_kinds();
  std::erase(ops, op);
  return ops;
}

const char* op_name(OpKind op) {
  switch (op) {
    case OpKind::leaf:
      return "leaf";
    case OpKind::view:
      return "view";
    case OpKind::get_rows:
      return "get_rows";
    case OpKind::rms_norm:
      return "rms_norm";
    case OpKind::rms_norm_mul:
      return "rms_norm_mul";
    case OpKind::rms_norm_low_rank:
      return "rms_norm_low_rank";
    case OpKind::mul:
      return "mul";
    case OpKind::add:
      return "add";
    case OpKind::scale:
      return "scale";
    case OpKind::matmul:
      return "matmul";
    case OpKind::matmul_add:
      return "matmul_add";
    case OpKind::matmul_cat:
      return "matmul_cat";
    case OpKind::matmul_swiglu:
      return "matmul_swiglu";
    case OpKind::rope:
      return "rope";
    case OpKind::softmax:
      return "softmax";
    case OpKind::silu:
      return "silu";
    case OpKind::gelu:
      return "gelu";
    case OpKind::softcap:
      return "softcap";
    case OpKind::swiglu:
      return "swiglu";
    case OpKind::attention:
      return "attention";
    case OpKind::paged_attention:
      return "paged_attention";
    case OpKind::kv_write:
      return "kv_write";
    case OpKind::argmax:
      return "argmax";
    case OpKind::convert:
      return "convert";
  }
  return "?";
}

int LowRankTails::count() const {
  int n = 0;
  for (int i = 0; i < kMaxMembers; ++i) n += has(i) ? 1 : 0;
  return n;
}

size_t base_input_count(const Node& node) {
  const size_t tails = 2 * size_t(node.params.tails.count());
  VKGRAPH_CHECK(node.inputs.size() >= tails, "{} '{}': {} inputs cannot hold {} low-rank tails", op_name(node.op),
                node.name, node.inputs.size(), tails / 2);
  return node.inputs.size() - tails;
}

size_t tail_input_index(const Node& node, int member) {
  const LowRankTails& t = node.params.tails;
  VKGRAPH_CHECK(member >= 0 && member < LowRankTails::kMaxMembers && t.has(member),
                "{} '{}': member {} has no low-rank tail", op_name(node.op), node.name, member);
  size_t index = base_input_count(node);
  for (int i = 0; i < member; ++i) index += t.has(i) ? 2 : 0;
  return index;
}

namespace {

bool is_float(DType t) { return t == DType::F32 || t == DType::F16; }

}  // namespace

// "'name' [4, 64] f32": how errors name a tensor.
static std::string describe(const Graph& g, TensorId id) {
  const Node& n = g.node(id);
  return fmt::format("'{}' {} {}", n.name, shape_string(n.shape), dtype_name(n.dtype));
}

const Node& Graph::node(TensorId id) const {
  VKGRAPH_CHECK(id.index >= 0 && size_t(id.index) < nodes_.size(), "tensor id {} is not in this graph of {} nodes",
                id.index, nodes_.size());
  return nodes_[size_t(id.index)];
}

Node& Graph::node(TensorId id) {
  VKGRAPH_CHECK(id.index >= 0 && size_t(id.index) < nodes_.size(), "tensor id {} is not in this graph of {} nodes",
                id.index, nodes_.size());
  return nodes_[size_t(id.index)];
}

TensorId Graph::add_node(Node node) {
  for (int64_t d : node.shape) {
    VKGRAPH_CHECK(d > 0, "{} '{}': shape {} has a dimension that is not positive", op_name(node.op), node.name,
                  shape_string(node.shape));
  }
  const DTypeInfo& info = dtype_info(node.dtype);
  if (info.quantized) {
    VKGRAPH_CHECK(!node.shape.empty() && node.shape.back() % int64_t(info.block_elements) == 0,
                  "{} '{}': {} {} needs a last dimension that is a multiple of {}", op_name(node.op), node.name,
                  dtype_name(node.dtype), shape_string(node.shape), info.block_elements);
  }
  const TensorId id{int32_t(nodes_.size())};
  if (node.name.empty()) node.name = fmt::format("{}.{}", op_name(node.op), id.index);
  nodes_.push_back(std::move(node));
  return id;
}

static Node make_leaf(std::string name, TensorKind kind, DType dtype, Shape shape) {
  Node n;
  n.name = std::move(name);
  n.op = OpKind::leaf;
  n.kind = kind;
  n.dtype = dtype;
  n.shape = std::move(shape);
  return n;
}

TensorId Graph::input(std::string name, DType dtype, Shape shape) {
  VKGRAPH_CHECK(!dtype_info(dtype).quantized, "input '{}': inputs are plain types, not {}", name, dtype_name(dtype));
  return add_node(make_leaf(std::move(name), TensorKind::input, dtype, std::move(shape)));
}

static void check_storage(const std::string& what, const std::string& name, DType dtype, const Shape& shape,
                          const std::shared_ptr<Storage>& storage) {
  VKGRAPH_CHECK(storage != nullptr, "{} '{}': no storage given", what, name);
  VKGRAPH_CHECK(!shape.empty(), "{} '{}': a shape needs at least one dimension", what, name);
  const size_t rows = size_t(element_count(shape) / shape.back());
  const size_t need = rows * row_bytes(dtype, size_t(shape.back()));
  VKGRAPH_CHECK(storage->bytes() >= need, "{} '{}' {} {}: storage holds {} bytes, {} needed", what, name,
                shape_string(shape), dtype_name(dtype), storage->bytes(), need);
}

TensorId Graph::weight(std::string name, DType dtype, Shape shape, std::shared_ptr<Storage> storage) {
  Node n = make_leaf(std::move(name), TensorKind::weight, dtype, std::move(shape));
  if (!n.shape.empty() && n.shape.back() > 0) check_storage("weight", n.name, dtype, n.shape, storage);
  n.storage = std::move(storage);
  return add_node(std::move(n));
}

TensorId Graph::state(std::string name, DType dtype, Shape shape, std::shared_ptr<Storage> storage) {
  Node n = make_leaf(std::move(name), TensorKind::state, dtype, std::move(shape));
  if (!n.shape.empty() && n.shape.back() > 0) check_storage("state", n.name, dtype, n.shape, storage);
  n.storage = std::move(storage);
  return add_node(std::move(n));
}

static Node make_op(OpKind op, DType dtype, Shape shape, std::vector<TensorId> inputs) {
  Node n;
  n.op = op;
  n.kind = TensorKind::intermediate;
  n.dtype = dtype;
  n.shape = std::move(shape);
  n.inputs = std::move(inputs);
  return n;
}

// Checks shared by the element-wise ops: f32 operands of at least one dimension.
static void require_f32(const Graph& g, const char* op, const char* role, TensorId id) {
  const Node& n = g.node(id);
  VKGRAPH_CHECK(n.dtype == DType::F32, "{}: {} {} must be f32", op, role, describe(g, id));
  VKGRAPH_CHECK(!n.shape.empty(), "{}: {} {} needs at least one dimension", op, role, describe(g, id));
}

static void require_i32_vector(const Graph& g, const char* op, const char* role, TensorId id, int64_t length) {
  const Node& n = g.node(id);
  VKGRAPH_CHECK(n.dtype == DType::I32 && n.shape.size() == 1 && n.shape[0] == length, "{}: {} {} must be i32 [{}]", op,
                role, describe(g, id), length);
}

TensorId Graph::get_rows(TensorId table, TensorId ids) {
  const Node& t = node(table);
  const Node& i = node(ids);
  VKGRAPH_CHECK(t.shape.size() == 2, "get_rows: table {} must be [n_rows, n]", describe(*this, table));
  VKGRAPH_CHECK(is_weight_type(t.dtype), "get_rows: table {} must be one of {}", describe(*this, table),
                weight_type_names());
  VKGRAPH_CHECK(i.dtype == DType::I32 && i.shape.size() == 1, "get_rows: ids {} must be i32 [m] (table {})",
                describe(*this, ids), describe(*this, table));
  return add_node(make_op(OpKind::get_rows, DType::F32, {i.shape[0], t.shape[1]}, {table, ids}));
}

TensorId Graph::rms_norm(TensorId x, float eps) {
  require_f32(*this, "rms_norm", "x", x);
  VKGRAPH_CHECK(eps >= 0.0f, "rms_norm: eps {} of x {} must not be negative", eps, describe(*this, x));
  Node n = make_op(OpKind::rms_norm, DType::F32, node(x).shape, {x});
  n.params.eps = eps;
  return add_node(std::move(n));
}

// b broadcasts over a's leading dimensions: b's shape must be a suffix of a's.
static void check_broadcast(const Graph& g, const char* op, TensorId a, TensorId b) {
  require_f32(g, op, "a", a);
  require_f32(g, op, "b", b);
  const Shape& sa = g.node(a).shape;
  const Shape& sb = g.node(b).shape;
  bool ok = sb.size() <= sa.size();
  for (size_t i = 0; ok && i < sb.size(); ++i) ok = sb[sb.size() - 1 - i] == sa[sa.size() - 1 - i];
  VKGRAPH_CHECK(ok, "{}: shapes {} and {} do not broadcast: b's shape must be a suffix of a's (a {}, b {})", op,
                shape_string(sa), shape_string(sb), describe(g, a), describe(g, b));
}

TensorId Graph::mul(TensorId a, TensorId b) {
  check_broadcast(*this, "mul", a, b);
  return add_node(make_op(OpKind::mul, DType::F32, node(a).shape, {a, b}));
}

TensorId Graph::add(TensorId a, TensorId b) {
  check_broadcast(*this, "add", a, b);
  return add_node(make_op(OpKind::add, DType::F32, node(a).shape, {a, b}));
}

TensorId Graph::scale(TensorId x, float factor) {
  require_f32(*this, "scale", "x", x);
  Node n = make_op(OpKind::scale, DType::F32, node(x).shape, {x});
  n.params.scale = factor;
  return add_node(std::move(n));
}

TensorId Graph::matmul(TensorId w, TensorId x) {
  const Node& nw = node(w);
  const Node& nx = node(x);
  VKGRAPH_CHECK(nw.shape.size() == 2, "matmul: weight {} must be [n_out, n_in] (x {})", describe(*this, w),
                describe(*this, x));
  VKGRAPH_CHECK(is_weight_type(nw.dtype), "matmul: weight {} must be one of {}", describe(*this, w),
                weight_type_names());
  VKGRAPH_CHECK(is_float(nx.dtype) && !nx.shape.empty(), "matmul: x {} must be f32 or f16 [m, n_in] (weight {})",
                describe(*this, x), describe(*this, w));
  VKGRAPH_CHECK(nx.shape.back() == nw.shape[1],
                "matmul: shapes {} and {} do not match: x's last dimension must equal the weight's n_in {} "
                "(weight {}, x {})",
                shape_string(nw.shape), shape_string(nx.shape), nw.shape[1], describe(*this, w), describe(*this, x));
  Shape out = nx.shape;
  out.back() = nw.shape[0];
  return add_node(make_op(OpKind::matmul, DType::F32, std::move(out), {w, x}));
}

// The rope parameters applied to `x` (rope's x, or attention's k with rotate_keys).
static void require_rope_params(const Graph& g, const char* what, TensorId x, const RopeParams& params) {
  const Node& nx = g.node(x);
  VKGRAPH_CHECK(params.n_rot > 0 && params.n_rot % 2 == 0 && params.n_rot <= nx.shape[2],
                "{}: n_rot {} must be even, positive and at most head_dim {} ({})", what, params.n_rot, nx.shape[2],
                describe(g, x));
  VKGRAPH_CHECK(params.freq_base > 0.0f && params.freq_scale > 0.0f,
                "{}: freq_base {} and freq_scale {} must be positive ({})", what, params.freq_base, params.freq_scale,
                describe(g, x));
  VKGRAPH_CHECK(params.mode == RopeMode::normal || params.mode == RopeMode::neox, "{}: unknown rope mode {} ({})", what,
                int(params.mode), describe(g, x));
}

TensorId Graph::rope(TensorId x, TensorId positions, const RopeParams& params) {
  const Node& nx = node(x);
  VKGRAPH_CHECK(nx.dtype == DType::F32 && nx.shape.size() == 3, "rope: x {} must be f32 [m, n_head, head_dim]",
                describe(*this, x));
  require_i32_vector(*this, "rope", "positions", positions, nx.shape[0]);
  require_rope_params(*this, "rope", x, params);
  Node n = make_op(OpKind::rope, DType::F32, nx.shape, {x, positions});
  n.params.rope = params;
  return add_node(std::move(n));
}

TensorId Graph::softmax(TensorId x, float scale) {
  require_f32(*this, "softmax", "x", x);
  Node n = make_op(OpKind::softmax, DType::F32, node(x).shape, {x});
  n.params.scale = scale;
  return add_node(std::move(n));
}

TensorId Graph::silu(TensorId x) {
  require_f32(*this, "silu", "x", x);
  return add_node(make_op(OpKind::silu, DType::F32, node(x).shape, {x}));
}

TensorId Graph::gelu(TensorId x) {
  require_f32(*this, "gelu", "x", x);
  return add_node(make_op(OpKind::gelu, DType::F32, node(x).shape, {x}));
}

TensorId Graph::softcap(TensorId x, float cap) {
  require_f32(*this, "softcap", "x", x);
  VKGRAPH_CHECK(cap > 0.0f && std::isfinite(cap), "softcap: cap {} must be positive and finite (x {})", cap,
                describe(*this, x));
  Node n = make_op(OpKind::softcap, DType::F32, node(x).shape, {x});
  n.params.scale = cap;
  return add_node(std::move(n));
}

TensorId Graph::swiglu(TensorId gate, TensorId up) {
  require_f32(*this, "swiglu", "gate", gate);
  require_f32(*this, "swiglu", "up", up);
  VKGRAPH_CHECK(node(gate).shape == node(up).shape, "swiglu: shapes {} and {} differ (gate {}, up {})",
                shape_string(node(gate).shape), shape_string(node(up).shape), describe(*this, gate),
                describe(*this, up));
  return add_node(make_op(OpKind::swiglu, DType::F32, node(gate).shape, {gate, up}));
}

TensorId Graph::attention(TensorId q, TensorId k, TensorId v, TensorId q_pos, TensorId kv_pos,
                          const AttentionParams& params) {
  const Node& nq = node(q);
  const Node& nk = node(k);
  const Node& nv = node(v);
  VKGRAPH_CHECK(nq.dtype == DType::F32 && nq.shape.size() == 3, "attention: q {} must be f32 [m, n_head, head_dim]",
                describe(*this, q));
  VKGRAPH_CHECK(is_float(nk.dtype) && nk.shape.size() == 3,
                "attention: k {} must be f32 or f16 [n_slots, n_kv_head, "
                "head_dim]",
                describe(*this, k));
  VKGRAPH_CHECK(nv.dtype == nk.dtype && nv.shape == nk.shape, "attention: v {} must match k {}", describe(*this, v),
                describe(*this, k));
  VKGRAPH_CHECK(nk.shape[2] == nq.shape[2], "attention: shapes {} and {} differ in head_dim (q {}, k {})",
                shape_string(nq.shape), shape_string(nk.shape), describe(*this, q), describe(*this, k));
  VKGRAPH_CHECK(nq.shape[1] % nk.shape[1] == 0,
                "attention: n_head {} of q {} is not a multiple of n_kv_head {} of k {}", nq.shape[1],
                describe(*this, q), nk.shape[1], describe(*this, k));
  require_i32_vector(*this, "attention", "q_pos", q_pos, nq.shape[0]);
  require_i32_vector(*this, "attention", "kv_pos", kv_pos, nk.shape[0]);
  VKGRAPH_CHECK(params.window >= 0, "attention: window {} must not be negative (q {})", params.window,
                describe(*this, q));
  VKGRAPH_CHECK(params.softcap >= 0.0f && std::isfinite(params.softcap),
                "attention: softcap {} must be 0 (none) or positive (q {})", params.softcap, describe(*this, q));
  if (params.rotate_keys) require_rope_params(*this, "attention: key_rope of k", k, params.key_rope);
  Node n = make_op(OpKind::attention, DType::F32, nq.shape, {q, k, v, q_pos, kv_pos});
  n.params.attention = params;
  return add_node(std::move(n));
}

TensorId Graph::paged_attention(TensorId q, TensorId k, TensorId v, TensorId block_table, TensorId seq_rows,
                                TensorId q_pos, const AttentionParams& params) {
  const Node& nq = node(q);
  const Node& nk = node(k);
  const Node& nv = node(v);
  const Node& nt = node(block_table);
  VKGRAPH_CHECK(nq.dtype == DType::F32 && nq.shape.size() == 3,
                "paged_attention: q {} must be f32 [m, n_head, head_dim]", describe(*this, q));
  VKGRAPH_CHECK(is_float(nk.dtype) && nk.shape.size() == 3,
                "paged_attention: k {} must be an f32 or f16 pool [n_pool, n_kv_head, head_dim]", describe(*this, k));
  VKGRAPH_CHECK(nv.dtype == nk.dtype && nv.shape == nk.shape, "paged_attention: v {} must match k {}",
                describe(*this, v), describe(*this, k));
  VKGRAPH_CHECK(nk.shape[2] == nq.shape[2], "paged_attention: shapes {} and {} differ in head_dim (q {}, k {})",
                shape_string(nq.shape), shape_string(nk.shape), describe(*this, q), describe(*this, k));
  VKGRAPH_CHECK(nq.shape[1] % nk.shape[1] == 0,
                "paged_attention: n_head {} of q {} is not a multiple of n_kv_head {} of k {}", nq.shape[1],
                describe(*this, q), nk.shape[1], describe(*this, k));
  VKGRAPH_CHECK(params.block_size > 0 && nk.shape[0] % params.block_size == 0,
                "paged_attention: the pool's {} slots (k {}) are not whole blocks of block_size {}", nk.shape[0],
                describe(*this, k), params.block_size);
  VKGRAPH_CHECK(nt.dtype == DType::I32 && nt.shape.size() == 2,
                "paged_attention: block_table {} must be i32 [n_rows, max_blocks]", describe(*this, block_table));
  require_i32_vector(*this, "paged_attention", "seq_rows", seq_rows, nq.shape[0]);
  require_i32_vector(*this, "paged_attention", "q_pos", q_pos, nq.shape[0]);
  VKGRAPH_CHECK(params.softcap >= 0.0f && std::isfinite(params.softcap),
                "paged_attention: softcap {} must be 0 (none) or positive (q {})", params.softcap, describe(*this, q));
  VKGRAPH_CHECK(params.window >= 0, "paged_attention: window {} must not be negative (q {})", params.window,
                describe(*this, q));
  VKGRAPH_CHECK(
      !params.rotate_keys,
      "paged_attention: keys are stored rotated (rotate_keys is the KV ring's layout, not the paged cache's)");
  Node n = make_op(OpKind::paged_attention, DType::F32, nq.shape, {q, k, v, block_table, seq_rows, q_pos});
  n.params.attention = params;
  return add_node(std::move(n));
}

TensorId Graph::kv_write(TensorId cache, TensorId src, TensorId slots) {
  const Node& nc = node(cache);
  const Node& ns = node(src);
  VKGRAPH_CHECK(nc.kind == TensorKind::state && nc.op == OpKind::leaf,
                "kv_write: cache {} must be a state tensor (Graph::state)", describe(*this, cache));
  VKGRAPH_CHECK(is_float(nc.dtype) && nc.shape.size() == 3,
                "kv_write: cache {} must be f32 or f16 [n_slots, n_kv_head, head_dim]", describe(*this, cache));
  VKGRAPH_CHECK(ns.dtype == DType::F32 && ns.shape.size() == 3, "kv_write: src {} must be f32 [m, n_kv_head, head_dim]",
                describe(*this, src));
  VKGRAPH_CHECK(ns.shape[1] == nc.shape[1] && ns.shape[2] == nc.shape[2],
                "kv_write: shapes {} and {} differ in [n_kv_head, head_dim] (cache {}, src {})", shape_string(nc.shape),
                shape_string(ns.shape), describe(*this, cache), describe(*this, src));
  require_i32_vector(*this, "kv_write", "slots", slots, ns.shape[0]);
  Node n = make_op(OpKind::kv_write, nc.dtype, nc.shape, {cache, src, slots});
  n.name = nc.name + ".written";
  return add_node(std::move(n));
}

TensorId Graph::argmax(TensorId x) {
  require_f32(*this, "argmax", "x", x);
  Shape out = node(x).shape;
  out.pop_back();
  if (out.empty()) out = {1};
  return add_node(make_op(OpKind::argmax, DType::I32, std::move(out), {x}));
}

TensorId Graph::convert(TensorId x, DType dtype) {
  const Node& nx = node(x);
  VKGRAPH_CHECK(is_float(nx.dtype) && is_float(dtype), "convert: {} to {}: only f32 and f16 convert",
                describe(*this, x), dtype_name(dtype));
  Node n = make_op(OpKind::convert, dtype, nx.shape, {x});
  n.params.dtype = dtype;
  return add_node(std::move(n));
}

TensorId Graph::reshape(TensorId x, Shape shape) {
  const Node& nx = node(x);
  VKGRAPH_CHECK(!shape.empty() && element_count(shape) == element_count(nx.shape),
                "reshape: shapes {} and {} hold different element counts (x {})", shape_string(nx.shape),
                shape_string(shape), describe(*this, x));
  Node n = make_op(OpKind::view, nx.dtype, std::move(shape), {x});
  n.params.view_offset = 0;
  return add_node(std::move(n));
}

TensorId Graph::rows(TensorId x, int64_t first, int64_t count) {
  const Node& nx = node(x);
  VKGRAPH_CHECK(!nx.shape.empty() && first >= 0 && count > 0 && first + count <= nx.shape[0],
                "rows: rows [{}, {}) are outside x {}", first, first + count, describe(*this, x));
  Shape shape = nx.shape;
  shape[0] = count;
  Node n = make_op(OpKind::view, nx.dtype, std::move(shape), {x});
  n.params.view_offset = first * (element_count(nx.shape) / nx.shape[0]);
  return add_node(std::move(n));
}

void Graph::mark_output(TensorId id) {
  Node& n = node(id);
  VKGRAPH_CHECK(n.op != OpKind::leaf, "mark_output: {} is a leaf; outputs are results of ops", describe(*this, id));
  VKGRAPH_CHECK(!dtype_info(n.dtype).quantized, "mark_output: {} is quantized", describe(*this, id));
  n.output = true;
}

TensorId Graph::name(TensorId id, std::string name) {
  node(id).name = std::move(name);
  return id;
}

}  // namespace vkgraph
