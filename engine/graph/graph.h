#pragma once
// The compute graph: tensors and the ops that produce them. Building a graph does no work: each
// builder call checks shapes and types, infers the result and records a node.
//
// Shapes list dimensions outermost first; the last dimension is contiguous. A weight matrix is
// [n_out, n_in] (GGUF's ne = {n_in, n_out}), activations are [n_tokens, n_embd], and attention
// heads are [n_tokens, n_head, head_dim]. Quantized types pack blocks along the last dimension.
//
// Types: element-wise and row-wise ops (rms_norm, mul, add, scale, silu, gelu, softcap, swiglu, softmax, rope,
// argmax) take and give f32. Only weights are quantized; only matmul activations, caches and
// convert use f16. Index tensors (ids, positions, slots, kv_pos) are i32 vectors.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/graph/storage.h"

namespace vkgraph {

using Shape = std::vector<int64_t>;
std::string shape_string(const Shape& shape);  // "[4, 64]"
int64_t element_count(const Shape& shape);

struct TensorId {
  int32_t index = -1;
  bool valid() const { return index >= 0; }
  friend bool operator==(TensorId, TensorId) = default;
};

enum class TensorKind : uint8_t {
  input,         // host data set before every run (token ids, positions, slots)
  weight,        // read-only Storage bound once (model weights)
  state,         // persistent read-write Storage (KV cache); kv_write updates it in place
  intermediate,  // produced by an op; lives in the plan's arena unless it is an output
};

enum class OpKind : uint8_t {
  leaf,               // input, weight or state: no op
  view,               // reshape or row range of its input, sharing its storage (params.view_offset, in
                      // elements); never a step of a plan
  get_rows,           // table [n_rows, n], ids [m] (i32) -> [m, n] f32; table may be quantized
  rms_norm,           // x [..., n] -> x / sqrt(mean(x^2) + eps) over the last dimension
  rms_norm_mul,       // fused by a pass: rms_norm(x) * w, w [n]
  rms_norm_low_rank,  // fused by a pass: rms_norm_mul with LoRA adapters' low-rank products around it
                      // (params.low_rank, struct LowRankNorm). One token only
  mul,                // a * b, b broadcast over a's leading dimensions (b's shape is a suffix of a's)
  add,                // a + b, same broadcasting
  scale,              // x * params.scale
  matmul,             // w [n_out, n_in] (f32/f16/q8_0/q4_0), x [..., n_in] (f32/f16) -> [..., n_out] f32:
                      // y[i][o] = sum_k x[i][k] * w[o][k]; quantized n_in is a multiple of 32
  matmul_add,         // fused by a pass: matmul(w, x) + r, r f32 of the result's shape (a residual);
                      // inputs w, x, r. Only for one token or decode rows (the mat-vec epilogue of the
                      // Vulkan kernel)
  matmul_cat,         // fused by a pass: matmuls of one x by 2 or 3 weights w_i [n_i, n_in] of one type, inputs
                      // w_0.., x (last) -> [..., n_0 + n_1 + ...] f32, the products side by side; the original
                      // results become views of it. One token only (each product is one contiguous range)
  matmul_swiglu,      // fused by a pass: swiglu(matmul(w_gate, x), matmul(w_up, x)), inputs w_gate, w_up, x; both
                      // weights [n_ff, n_in] of one type. One token or decode rows
                      // The four matmul forms may carry low-rank tails (OpParams::tails): one-token LoRA products
                      // summed in the same store, their inputs after the node's own (base_input_count)
  rope,               // x [m, n_head, head_dim], pos [m] (i32) -> rotated x (params.rope)
  softmax,            // over the last dimension, of x * params.scale (max-subtracted)
  silu,               // x * sigmoid(x)
  gelu,               // GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (Gemma's GeGLU gate)
  softcap,            // params.scale * tanh(x / params.scale): soft-capping (Gemma 2's final logits)
  swiglu,             // silu(gate) * up: built directly or fused by a pass from silu + mul
  attention,          // q [m, n_head, d] f32, k/v [n_slots, n_kv_head, d] (f32 or f16, the same), q_pos [m],
                      // kv_pos [n_slots] -> [m, n_head, d] f32. Slot j is visible to query i iff kv_pos[j] >= 0,
                      // kv_pos[j] <= q_pos[i] and (window == 0 || q_pos[i] - kv_pos[j] < window); query head h
                      // reads kv head h / (n_head / n_kv_head); no visible slot gives zeros. Scores are
                      // scale * q.k, soft-capped when params.softcap > 0
  kv_write,           // cache [n_slots, n_kv_head, d] (state, f32/f16), src [m, n_kv_head, d] f32, slots [m]:
                      // cache[slots[i]] = src[i] converted to the cache type; the result is the cache itself
  argmax,             // x [..., n] -> [...] i32 ([1] for a vector), the first index of the maximum
  convert,            // x -> x in params.dtype (f32 <-> f16, round to nearest even; same type: a copy)
  // paged_attention: attention over a paged KV cache (continuous batching). q [m, n_head, d] f32,
  // k/v pools [n_pool, n_kv_head, d] (f32 or f16, the same; n_pool a multiple of block_size),
  // block_table [n_rows, max_blocks] i32, seq_rows [m] i32, q_pos [m] i32 -> [m, n_head, d] f32.
  // Query i belongs to the sequence of table row seq_rows[i], whose key at position p lives in
  // pool slot table[row][p / block_size] * block_size + p % block_size. Key p is visible to
  // query i iff p <= q_pos[i], (window == 0 || q_pos[i] - p < window) and its table entry is
  // >= 0. A query of row -1 (padding) or of an empty row (all -1) sees nothing and gives zeros.
  // Rows and entries must lie inside the table and the pool (the CPU reference throws; device
  // kernels read nothing outside them). Each query's result depends on its own row, position
  // and blocks only, never on the other queries of the step.
  paged_attention,
};
const char* op_name(OpKind op);

// The ops the fusion pass makes from others (PlanOptions::fused_ops): a backend that lacks one
// runs the unfused ops instead.
const std::vector<OpKind>& fused_op_kinds();
// fused_op_kinds() but one.
std::vector<OpKind> fused_op_kinds_except(OpKind op);

enum class RopeMode : uint8_t {
  normal,  // rotates pairs (2i, 2i+1): llama
  neox,    // rotates pairs (i, i + n_rot/2): qwen2, neox
};

struct RopeParams {
  RopeMode mode = RopeMode::normal;
  int32_t n_rot = 0;  // rotated dimensions (<= head_dim, even); the rest pass through
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;  // linear position scaling: theta = pos * freq_scale * base^(-2i/n_rot)
};

struct AttentionParams {
  float scale = 1.0f;  // applied to q.k, usually 1/sqrt(head_dim)
  int32_t window = 0;  // sliding window in positions (0: none): key visible iff q_pos - k_pos < window
  // Soft-capping of the scores (Gemma 2's attn_logit_softcapping; 0: none): a visible key's
  // score s = scale * q.k becomes softcap * tanh(s / softcap) before the softmax.
  float softcap = 0.0f;
  // The KV cache ring stores keys unrotated: key j is rotated by RoPE (key_rope) at position
  // kv_pos[j] when attention reads it, so positions are positions inside the cache and evicting
  // a token rewrites nothing. q arrives already rotated at q_pos.
  bool rotate_keys = false;
  RopeParams key_rope;  // used when rotate_keys
  // paged_attention: slots per KV block (the pool's page size). Keys are stored rotated (no
  // rotate_keys): a sequence's positions are absolute, so its keys never move.
  int32_t block_size = 0;
};

// Low-rank tails of a one-token matmul-family node (matmul, matmul_add, matmul_cat,
// matmul_swiglu), fused by a pass from add(matmul(w, x), scale(matmul(b, t), factor)) (LoRA
// adapters: models/arch/projection.h): the product of member i (weight i of the node) gains
// factor[i] * (b_i t_i) before anything else is applied to it (matmul_add's residual,
// matmul_swiglu's activation), with b_i [n_i, r_i] f16 and t_i [1, r_i] f32. For each member with a
// tail, in member order, its b_i and t_i follow the node's own inputs.
struct LowRankTails {
  static constexpr int kMaxMembers = 3;
  uint8_t mask = 0;  // bit i: member i has a tail
  std::array<float, kMaxMembers> factor{1.0f, 1.0f, 1.0f};
  bool has(int member) const { return (mask >> member) & 1u; }
  int count() const;
};

// rms_norm_low_rank: rms_norm_mul(x, w) of one token with the low-rank work of LoRA adapters
// folded in, so that an adapter costs no dispatch of its own in decode (pass_fusion.cpp says
// where each part comes from). With `delta`, first h = x + factor * (b (a u)): the adapter delta
// of the mat-vec whose residual sum x is; else h = x. Then y = rms_norm(h) * w; then
// t_j = a_j y for each of the `products` matrices a_j [r_j, n] (the A products of the adapters on
// the matrices that read y). Inputs: x, w, then u [1, n_u], a [r, n_u], b [n, r] when delta,
// then a_1.. (a, b and a_j f16). Result [1, (delta ? n : 0) + n + r_1 + ...]: h, y and the t_j
// side by side; the tensors they replace are views of it.
struct LowRankNorm {
  static constexpr int kMaxProducts = 3;
  bool delta = false;
  float factor = 1.0f;  // the delta's
  uint8_t products = 0;
};

struct OpParams {
  float eps = 0.0f;    // rms_norm, rms_norm_mul, rms_norm_low_rank
  float scale = 1.0f;  // scale, softmax; softcap: the cap
  RopeParams rope;
  AttentionParams attention;
  DType dtype = DType::F32;  // convert
  int64_t view_offset = 0;   // view: first element of the view within its input
  LowRankTails tails;        // matmul forms (one token)
  LowRankNorm low_rank;      // rms_norm_low_rank
};

struct Node {
  std::string name;
  OpKind op = OpKind::leaf;
  TensorKind kind = TensorKind::intermediate;
  DType dtype = DType::F32;
  Shape shape;
  std::vector<TensorId> inputs;
  OpParams params;
  std::shared_ptr<Storage> storage;  // weight and state leaves
  bool output = false;               // read back by the host after a run
};

// A matmul-family node's inputs without its low-rank tails: weights, x (last of them for
// matmul_cat and matmul_swiglu) and matmul_add's residual.
size_t base_input_count(const Node& node);
// Where member `member`'s tail is among the node's inputs: b at the returned index, t after it.
// The member must have a tail.
size_t tail_input_index(const Node& node, int member);

class Graph {
 public:
  // Leaves.
  TensorId input(std::string name, DType dtype, Shape shape);
  TensorId weight(std::string name, DType dtype, Shape shape, std::shared_ptr<Storage> storage);
  TensorId state(std::string name, DType dtype, Shape shape, std::shared_ptr<Storage> storage);

  // Ops: one call each, checked, named after the result.
  TensorId get_rows(TensorId table, TensorId ids);
  TensorId rms_norm(TensorId x, float eps);
  TensorId mul(TensorId a, TensorId b);
  TensorId add(TensorId a, TensorId b);
  TensorId scale(TensorId x, float factor);
  TensorId matmul(TensorId w, TensorId x);
  TensorId rope(TensorId x, TensorId positions, const RopeParams& params);
  TensorId softmax(TensorId x, float scale = 1.0f);
  TensorId silu(TensorId x);
  TensorId gelu(TensorId x);
  TensorId softcap(TensorId x, float cap);  // cap > 0
  TensorId swiglu(TensorId gate, TensorId up);
  TensorId attention(TensorId q, TensorId k, TensorId v, TensorId q_pos, TensorId kv_pos,
                     const AttentionParams& params);
  TensorId paged_attention(TensorId q, TensorId k, TensorId v, TensorId block_table, TensorId seq_rows, TensorId q_pos,
                           const AttentionParams& params);
  TensorId kv_write(TensorId cache, TensorId src, TensorId slots);
  TensorId argmax(TensorId x);
  TensorId convert(TensorId x, DType dtype);
  TensorId reshape(TensorId x, Shape shape);                // same element count, contiguous
  TensorId rows(TensorId x, int64_t first, int64_t count);  // rows [first, first+count) of the outermost dim

  // Marks a tensor to be read back after a run; it gets storage of its own outside the arena.
  void mark_output(TensorId id);
  // Gives the node a readable name (for plans, profiles and errors); returns id for chaining.
  TensorId name(TensorId id, std::string name);

  const Node& node(TensorId id) const;
  Node& node(TensorId id);
  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& nodes() { return nodes_; }
  size_t size() const { return nodes_.size(); }

  // Decode rows: every token row is computed exactly as a graph of that one token computes it,
  // bit for bit, whatever the number of rows. Backends then pick their one-token (decode)
  // kernels for any row count, with the same per-row arithmetic (reduction order, split of the
  // cache), instead of the batched kernels whose rounding depends on the tile a row falls in.
  // Speculative verification sets it: k drafted tokens evaluated in one step must give the
  // logits that decoding them one at a time gives, or greedy output could change at a near tie.
  void set_decode_rows(bool on) { decode_rows_ = on; }
  bool decode_rows() const { return decode_rows_; }

 private:
  TensorId add_node(Node node);
  std::vector<Node> nodes_;
  bool decode_rows_ = false;
};

}  // namespace vkgraph
