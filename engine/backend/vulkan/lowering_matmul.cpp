// matmul: the kernel row's family decides the shader (shaders/matmul): the row-parallel kernel
// (matmul_rows, decode), the CPU-class prefill tile (matmul_rows_tokens: rows x tokens per
// invocation), the shared-memory mat-vec (matmul_matvec, decode), the integer-dot-product
// mat-vec (matmul_dot8, decode) or the tiled mat-mat (matmul_tiled, prefill), portable or with
// cooperative matrices (same tile constants). All take MatmulPush or, fused, its extensions
// (push/matmul.h, declared for the shaders in shaders/matmul/params.glsl).
#include <algorithm>
#include <string_view>

#include "engine/backend/vulkan/device_coopmat.h"
#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/lowering_add_norm.h"
#include "engine/backend/vulkan/lowering_cat_rope.h"
#include "engine/backend/vulkan/push/matmul.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// The matmul block extended with the residual's offset (ADD): MatmulAddPush starts with every
// MatmulPush field.
MatmulAddPush with_residual(const MatmulPush& p, uint32_t r_off) {
  MatmulAddPush out{};
  VKGRAPH_PUSH_COPY(VKGRAPH_MATMUL_PUSH, out, p);
  out.r_off = r_off;
  return out;
}

// The low-rank tails of the mat-vecs built with TAIL (matmul/tails.glsl), per matrix of the
// kernel: the rank (0: none), b's and t's offsets (halves, floats) and the factor; the
// tail_* fields of the Matmul*TailPush structs.
struct TailValues {
  uint32_t rank[3];
  uint32_t b_off[3];
  uint32_t t_off[3];
  float factor[3];
};

template <typename TailPush>
void set_tail_fields(TailPush& out, const TailValues& tv) {
  out.tail_rank0 = tv.rank[0];
  out.tail_rank1 = tv.rank[1];
  out.tail_rank2 = tv.rank[2];
  out.tail_b_off0 = tv.b_off[0];
  out.tail_b_off1 = tv.b_off[1];
  out.tail_b_off2 = tv.b_off[2];
  out.tail_t_off0 = tv.t_off[0];
  out.tail_t_off1 = tv.t_off[1];
  out.tail_t_off2 = tv.t_off[2];
  out.tail_factor0 = tv.factor[0];
  out.tail_factor1 = tv.factor[1];
  out.tail_factor2 = tv.factor[2];
}

// Each form's block extended with the tail fields (TAIL): the Matmul*TailPush starts with every
// field of the form's own block.
MatmulTailPush with_tails(const MatmulPush& p, const TailValues& tv) {
  MatmulTailPush out{};
  VKGRAPH_PUSH_COPY(VKGRAPH_MATMUL_PUSH, out, p);
  set_tail_fields(out, tv);
  return out;
}
MatmulAddTailPush with_tails(const MatmulAddPush& p, const TailValues& tv) {
  MatmulAddTailPush out{};
  VKGRAPH_PUSH_COPY(VKGRAPH_MATMUL_ADD_PUSH, out, p);
  set_tail_fields(out, tv);
  return out;
}
MatmulGroupTailPush with_tails(const MatmulGroupPush& p, const TailValues& tv) {
  MatmulGroupTailPush out{};
  VKGRAPH_PUSH_COPY(VKGRAPH_MATMUL_GROUP_PUSH, out, p);
  set_tail_fields(out, tv);
  return out;
}

// The row kernel's MAX_TOKENS (shaders/matmul/matvec_rows.comp): accumulators per invocation.
constexpr uint32_t kRowsMaxTokens = 8;
// On a CPU-class device tiles of 4: lavapipe, smollm2-135m Q4_0 shapes, the batched engine's
// 8-token decode step spends 169 ms of its products in tiles of 8, 119 ms in two tiles of 4 and
// 131 ms in four of 2 (timestamps).
constexpr uint32_t kRowsCpuTokens = 4;

// TOKENS of the row kernel: the kernel row's, except for decode rows (Graph::decode_rows) of
// several tokens, where a decode row (TOKENS 1) becomes tiles of up to 8 tokens (4 on CPU-class
// devices). Each token's accumulator runs the same instructions in the same order whatever TOKENS
// is, so the rows stay bit-identical to one-token steps, and a weight block is read once per tile
// instead of once per token: where reading the weights is a step's cost (GPUs), verifying k
// drafted tokens costs about one decode step. On lavapipe each token's activation loads still add
// up (docs/performance.md, "Speculative decoding").
uint32_t rows_tokens(const LoweringInput& in, const KernelRow& k, uint64_t m) {
  if (!in.graph().decode_rows() || k.tile[2] > 1) return k.tile[2];
  return uint32_t(std::clamp<uint64_t>(m, 1, in.device.is_cpu() ? kRowsCpuTokens : kRowsMaxTokens));
}

// PAIRS_ALIGNED of the row kernels (matvec_rows.comp, matmul_rows_tokens.comp) for quantized and
// 16-bit weights, from the 16-bit units of a row and every weight binding's offset in them:
// 0: rows read unit by unit; 1: every row starts at a 32-bit word (block pairs, f16 pairs read
// as words and 16-byte vectors); 2: also at a 16-byte boundary (whole Q4_K super-blocks read as
// vectors, no shift).
uint32_t pairs_alignment(uint64_t row_units, std::initializer_list<uint32_t> offsets) {
  bool words = row_units % 2 == 0, vectors = row_units % 8 == 0;
  for (const uint32_t off : offsets) {
    words = words && off % 2 == 0;
    vectors = vectors && off % 8 == 0;
  }
  return !words ? 0 : (vectors ? 2 : 1);
}

// The activation-type and offset facts the row kernel takes as specialization constants 4-5.
void add_rows_constants(Dispatch& d, uint32_t pairs_aligned, bool x_shared) {
  d.spec_constants.push_back(pairs_aligned);
  d.spec_constants.push_back(x_shared ? 1 : 0);
}

}  // namespace

bool x_uniform_view(const DeviceInfo& device, const BufferRange& x, bool x_vec4) {
  return device.is_cpu() && x_vec4 && x.size % 16 == 0 && x.size <= device.max_uniform_buffer_range &&
         x.offset % std::max<uint64_t>(device.min_uniform_buffer_offset_alignment, 1) == 0;
}

namespace {

// The activations' uniform-buffer view, the row kernels' last binding (matmul/x_words.glsl), and
// its specialization constants 8-9: X_UNIFORM and the view's declared length in 16-byte words. On a
// CPU-class device whose activations, read as vec4 (X_SHARED), fit one uniform binding at the
// storage binding's offset: lavapipe turns a uniform-buffer load whose address differs between
// lanes into plain per-lane loads, a storage-buffer one into bounds checks and branches per lane
// and component.
void bind_x_uniform(Dispatch& d, const DeviceInfo& device, size_t x_binding, bool x_vec4) {
  const BufferRange x = d.buffers.at(x_binding);
  const bool on = x_uniform_view(device, x, x_vec4);
  d.spec_constants.resize(8, 0);  // constant_ids 6-7 are the tail variants' (bind_tails)
  d.spec_constants.push_back(on ? 1 : 0);
  // The view's declared length: the device's whole range (at most 64 KiB), not x's, so that one
  // pipeline serves every shape (a length per activation size compiled a pipeline per prompt
  // length); the binding covers x only, and the kernel reads no further.
  d.spec_constants.push_back(uint32_t(std::clamp<uint64_t>(device.max_uniform_buffer_range, 16, 65536) / 16));
  // Unused, the view is at most 16 bytes from x's offset rounded down to the uniform alignment,
  // which may be coarser than the storage one x's offset meets (64 against 16 on some GPUs).
  BufferRange view = x;
  if (!on) {
    view.offset = x.offset - x.offset % std::max<uint64_t>(device.min_uniform_buffer_offset_alignment, 1);
    view.size = std::min<uint64_t>(x.offset + x.size - view.offset, 16);
  }
  d.uniform_bindings |= 1u << d.buffers.size();
  d.buffers.push_back(view);
  d.bound.push_back(d.bound.at(x_binding));
}

// Binds the node's low-rank tails after its other bindings, for a kernel of `matrices` weight
// bindings: b_0.. then t_0..; a matrix without a tail binds the first tail's b and t again, with
// rank 0. Appends TAIL_VEC4 and TAIL_RANK (the next specialization constants: 6-7 of the row
// kernel, 2-3 of the mat-vec); *bytes gets the bytes the tails read.
TailValues bind_tails(Dispatch& d, const LoweringInput& in, size_t matrices, uint32_t m, uint64_t* bytes) {
  const Node& node = in.node();
  const LowRankTails& tails = node.params.tails;
  VKGRAPH_CHECK(tails.mask != 0 && matrices <= size_t(LowRankTails::kMaxMembers),
                "{} '{}': a tail kernel needs tails on at most {} matrices", op_name(node.op), node.name,
                LowRankTails::kMaxMembers);
  int first = 0;
  while (!tails.has(first)) ++first;
  TailValues p{};
  bool vec4 = true;
  for (size_t pass = 0; pass < 2; ++pass) {  // every b, then every t
    for (size_t i = 0; i < matrices; ++i) {
      const bool own = tails.has(int(i));
      const size_t b_index = tail_input_index(node, own ? int(i) : first);
      const TensorId id = node.inputs[b_index + pass];
      const Node& t = in.graph().node(id);
      const uint32_t off = add_binding(d, in, id, pass == 0 ? 2 : 4);
      if (!own) continue;
      if (pass == 0) {
        VKGRAPH_CHECK(t.dtype == DType::F16 && t.shape.size() == 2, "{} '{}': tail '{}' is {} {}, expected f16 [n, r]",
                      op_name(node.op), node.name, t.name, dtype_name(t.dtype), shape_string(t.shape));
        p.rank[i] = checked_u32(uint64_t(t.shape[1]), node, "tail rank");
        p.b_off[i] = off;
        p.factor[i] = tails.factor[i];
        *bytes += uint64_t(element_count(t.shape)) * 2;
      } else {
        VKGRAPH_CHECK(t.dtype == DType::F32 && uint64_t(element_count(t.shape)) == uint64_t(m) * p.rank[i],
                      "{} '{}': tail input '{}' is {} {}, expected {} f32 values ({} tokens of rank {})",
                      op_name(node.op), node.name, t.name, dtype_name(t.dtype), shape_string(t.shape),
                      uint64_t(m) * p.rank[i], m, p.rank[i]);
        p.t_off[i] = off;
        *bytes += uint64_t(element_count(t.shape)) * 4;
      }
      vec4 = vec4 && off % 4 == 0 && p.rank[i] % 4 == 0;
    }
  }
  d.spec_constants.push_back(vec4 ? 1 : 0);
  // TAIL_RANK: the rank all tails share, for the unrolled loop; 0 keeps the general one.
  uint32_t shared_rank = p.rank[first];
  for (size_t i = 0; i < matrices; ++i) {
    if (tails.has(int(i)) && p.rank[i] != shared_rank) shared_rank = 0;
  }
  d.spec_constants.push_back(vec4 ? shared_rank : 0);
  return p;
}

// matmul_cat (w_0.., x) and matmul_swiglu (w_gate, w_up, x): the row kernel with one binding per
// matrix, then x, then the result. A two-matrix matmul_cat binds weight 1 again as weight 2,
// with no rows of its own.
Dispatch lower_matmul_group(const LoweringInput& in) {
  const Node& node = in.node();
  const KernelRow& k = in.kernel;
  const bool cat = node.op == OpKind::matmul_cat;
  const size_t n_weights = base_input_count(node) - 1;
  const TensorId x_id = node.inputs[n_weights];
  const KernelFamily kind = k.family;
  VKGRAPH_CHECK(kind == KernelFamily::matmul_rows || kind == KernelFamily::matmul_matvec,
                "{} '{}': kernel '{}' is neither the row kernel nor the mat-vec", op_name(node.op), node.name,
                k.variant.shader);
  VKGRAPH_CHECK(cat ? (n_weights == 2 || n_weights == 3) : n_weights == 2, "{} '{}': {} weights, the kernel takes {}",
                op_name(node.op), node.name, n_weights, cat ? "2 or 3" : "2");
  const Node& w0 = in.input(0);           // w_i: [n_i, n_in]
  const Node& x = in.graph().node(x_id);  // x: [m, n_in]
  // Rows: ROWS, LANES, TOKENS (constant_id 1-3); mat-vec: rows per workgroup (constant_id 1).
  const uint32_t tile_tokens = rows_tokens(in, k, rows_of(x.shape));
  Dispatch d = kind == KernelFamily::matmul_rows ? begin_dispatch(in, {k.tile[0], k.tile[1], tile_tokens})
                                                 : begin_dispatch(in, {k.tile[0]});

  MatmulGroupPush p{};
  p.n_in = checked_u32(uint64_t(w0.shape.at(1)), node, "n_in");
  p.n_out = checked_u32(uint64_t(node.shape.back()), node, "n_out");
  p.m = checked_u32(rows_of(x.shape), node, "tokens");
  const DTypeInfo& wi = dtype_info(w0.dtype);
  VKGRAPH_CHECK(p.n_in % wi.block_elements == 0, "{} '{}': weight '{}' rows of {} are not whole {} blocks",
                op_name(node.op), node.name, w0.name, p.n_in, wi.name);
  const uint64_t row_units = row_bytes(w0.dtype, p.n_in) / unit_bytes(w0.dtype);
  uint32_t offsets[3] = {};
  uint32_t rows[3] = {};
  uint64_t weight_bytes = 0;
  for (size_t i = 0; i < (cat ? 3 : 2); ++i) {
    const size_t wi_index = std::min(i, n_weights - 1);
    const Node& w = in.input(wi_index);
    VKGRAPH_CHECK(w.dtype == w0.dtype && w.shape.size() == 2 && w.shape[1] == w0.shape[1],
                  "{} '{}': weight '{}' is {} {}, weight '{}' {} {}; the kernel needs one type and n_in",
                  op_name(node.op), node.name, w.name, dtype_name(w.dtype), shape_string(w.shape), w0.name,
                  dtype_name(w0.dtype), shape_string(w0.shape));
    offsets[i] = add_binding(d, in, in.input_id(wi_index), unit_bytes(w.dtype));
    if (i < n_weights) {
      rows[i] = checked_u32(uint64_t(w.shape[0]), node, "rows");
      weight_bytes += uint64_t(rows[i]) * row_bytes(w.dtype, p.n_in);
    }
  }
  if (!cat) {
    VKGRAPH_CHECK(rows[0] == rows[1] && rows[0] == p.n_out,
                  "matmul_swiglu '{}': gate has {} rows, up {}, the result {}", node.name, rows[0], rows[1], p.n_out);
  } else {
    VKGRAPH_CHECK(uint64_t(rows[0]) + rows[1] + rows[2] == p.n_out,
                  "matmul_cat '{}': the weights have {} + {} + {} rows, the result {}", node.name, rows[0], rows[1],
                  rows[2], p.n_out);
  }
  p.w_off0 = offsets[0];
  p.w_off1 = offsets[1];
  p.w_off2 = cat ? offsets[2] : 0;
  p.rows0 = rows[0];
  p.rows1 = rows[1];
  p.x_off = add_binding(d, in, x_id, unit_bytes(x.dtype));
  p.o_off = add_binding(d, in, in.id, 4);
  // The mat-vec reads 16-bit words: its bindings stay as bound. (A two-weight group binds its
  // last weight again as the third: offsets[2] is one of the others then.)
  const uint32_t pairs = kind != KernelFamily::matmul_rows || w0.dtype == DType::F32
                             ? 0
                             : pairs_alignment(row_units, {offsets[0], offsets[1], offsets[2]});
  if (kind == KernelFamily::matmul_rows) add_rows_constants(d, pairs, p.x_off % 4 == 0 && p.n_in % 4 == 0);
  // Quantized pairs are read as 16-byte vectors from the 16-byte boundary below them (see
  // lower_matmul): the weight bindings are rounded up to 16 bytes.
  if (pairs != 0 || (kind == KernelFamily::matmul_rows && wi.quantized)) {
    for (size_t i = 0; i < (cat ? 3u : 2u); ++i) d.buffers[i].size = (d.buffers[i].size + 15) / 16 * 16;
  }
  uint64_t tail_bytes = 0;
  if (node.params.tails.mask != 0) {
    // The row kernel and the mat-vec (kind checked above) both have TAIL variants.
    const TailValues tv = bind_tails(d, in, cat ? 3 : 2, p.m, &tail_bytes);
    set_push(d, with_tails(p, tv));
  } else if (!in.rope_after.valid()) {
    set_push(d, p);  // else bind_rope_epilogue's block, below
  }

  if (kind == KernelFamily::matmul_rows) {
    bind_x_uniform(d, in.device, cat ? 3 : 2, p.x_off % 4 == 0 && p.n_in % 4 == 0);
  }
  // Row tiles of ROWS rows per matrix (CAT) or of the one row count (SWIGLU), for every token tile
  // (the mat-vec: one token per tile).
  const uint64_t per_tile = std::max<uint32_t>(k.tile[0], 1);
  const uint64_t tokens = kind == KernelFamily::matmul_rows ? std::max<uint32_t>(tile_tokens, 1) : 1;
  uint64_t tiles_n = 0;
  for (size_t i = 0; i < n_weights && (cat || i == 0); ++i) tiles_n += (uint64_t(rows[i]) + per_tile - 1) / per_tile;
  const uint64_t tiles_m = (uint64_t(p.m) + tokens - 1) / tokens;
  set_groups(d, tiles_m * tiles_n, in.device, node);
  // Each token tile reads every matrix once; each row tile reads the token tile's activations.
  const uint64_t x_bytes = uint64_t(p.m) * p.n_in * unit_bytes(x.dtype);
  d.bytes_read = tiles_m * weight_bytes + tiles_n * x_bytes + tail_bytes;
  d.bytes_written = uint64_t(p.m) * p.n_out * 4;
  if (in.rope_after.valid()) {
    VKGRAPH_CHECK(cat && node.params.tails.mask == 0 && kind == KernelFamily::matmul_rows,
                  "{} '{}': only a matmul_cat on the row kernel, without tails, performs a rope (kernel {})",
                  op_name(node.op), node.name, k.variant.shader);
    bind_rope_epilogue(d, in, p);
  }
  return d;
}

// The tokens a dispatch computes: all of x's rows, or the one token of a row range.
uint64_t tokens_of(const LoweringInput& in, const Node& x) {
  return in.rows != nullptr && in.rows->token ? 1 : rows_of(x.shape);
}

}  // namespace

Dispatch lower_matmul(const LoweringInput& in) {
  const Node& node = in.node();
  if (node.op == OpKind::matmul_cat || node.op == OpKind::matmul_swiglu) return lower_matmul_group(in);
  const Node& w = in.input(0);  // w: [n_out, n_in]
  const Node& x = in.input(1);  // x: [m, n_in] (leading dims flattened)
  const KernelRow& k = in.kernel;
  const KernelFamily kind = k.family;
  // Rows: ROWS, LANES, TOKENS; tiled: BM, BN, BK (constant_id 1-3). Mat-vec: rows per
  // workgroup (constant_id 1).
  std::vector<uint32_t> spec;
  if (kind == KernelFamily::matmul_matvec) {
    spec.push_back(k.tile[0]);
  } else if (kind == KernelFamily::matmul_dot8) {
    // ROWS, LANES (constant_id 1-2). The first 32 invocations (CHUNK in matvec_dot8.comp)
    // quantize a chunk of activation blocks, and ROWS x LANES must fill the workgroup.
    VKGRAPH_CHECK(k.tile[0] * k.tile[1] == k.workgroup_size && k.workgroup_size >= 32,
                  "matmul '{}': {} needs ROWS x LANES = workgroup size >= 32, the row has {} x {} and {}", node.name,
                  k.variant.shader, k.tile[0], k.tile[1], k.workgroup_size);
    spec = {k.tile[0], k.tile[1]};
  } else if (kind == KernelFamily::matmul_rows_tokens) {
    spec = {k.tile[0], k.tile[1]};  // RPI, TOKENS (constant_id 1-2)
  } else {
    spec.assign(k.tile.begin(), k.tile.end());
    if (kind == KernelFamily::matmul_rows) spec[2] = rows_tokens(in, k, tokens_of(in, x));
  }
  if (kind == KernelFamily::matmul_tiled) {
    // Both tiled kernels stage weights 32 at a time (w_chunk32 in shaders/common/weights.glsl).
    VKGRAPH_CHECK(k.tile[2] != 0 && k.tile[2] % 32 == 0,
                  "matmul '{}': {} steps n_in by BK = {}, which must be a multiple of 32 (the weight chunks)",
                  node.name, k.variant.shader, k.tile[2]);
  }
  Dispatch d = begin_dispatch(in, spec);
  if (k.variant.requirements.coopmat) {
    const CoopMatShape shape = add_coopmat_constants(d, in);
    // ACC_TILES (constant_id 4) of matmul_coopmat.comp: its accumulators per subgroup.
    if (kind == KernelFamily::matmul_tiled) {
      d.spec_constants.at(4) =
          coopmat_accumulators_per_subgroup(in.device, shape, k.workgroup_size, k.tile[0], k.tile[1]);
    }
  }

  MatmulPush p{};
  const uint64_t all_rows = uint64_t(w.shape.at(0));
  p.n_out = checked_u32(in.rows ? in.rows->count : all_rows, node, "n_out");
  p.n_in = checked_u32(uint64_t(w.shape.at(1)), node, "n_in");
  p.m = checked_u32(tokens_of(in, x), node, "tokens");
  const DTypeInfo& wi = dtype_info(w.dtype);
  VKGRAPH_CHECK(p.n_in % wi.block_elements == 0, "matmul '{}': weight '{}' rows of {} are not whole {} blocks",
                node.name, w.name, p.n_in, wi.name);
  p.w_off0 = add_weight_rows_binding(d, in, in.input_id(0), unit_bytes(w.dtype));
  p.x_off = add_binding(d, in, in.input_id(1), unit_bytes(x.dtype));
  p.o_off = add_binding(d, in, in.id, 4);
  if (in.rows != nullptr) {
    // A range of the weight's rows: its columns of the output, for one token when there are
    // several (the output's rows are all_rows long, the kernels' n_out apart).
    VKGRAPH_CHECK(node.op == OpKind::matmul && node.params.tails.mask == 0,
                  "{} '{}': only a plain matmul runs in ranges of its weight's rows", op_name(node.op), node.name);
    const uint32_t token = in.rows->token.value_or(0);
    p.x_off = checked_u32(uint64_t(p.x_off) + uint64_t(token) * p.n_in, node, "activation offset");
    p.o_off = checked_u32(uint64_t(p.o_off) + uint64_t(token) * all_rows + in.rows->first, node, "output offset");
  }
  if (kind == KernelFamily::matmul_rows) {
    // PAIRS_ALIGNED (constant_id 4, pairs_alignment): 16-bit units per row; pairs of them (one
    // 32-bit word) must start every row and the binding for the 32-bit view to line up with
    // block pairs, eights of them (16 bytes) for whole Q4_K blocks.
    const uint64_t row_units = row_bytes(w.dtype, p.n_in) / 2;
    const uint32_t pairs = w.dtype == DType::F32 ? 0 : pairs_alignment(row_units, {p.w_off0});
    d.spec_constants.push_back(pairs);
    // Quantized pairs (and Q6_K blocks at any alignment) are read as 16-byte vectors from the
    // 16-byte boundary below them, which may reach up to 15 bytes past the tensor's end: a
    // quantized binding is rounded up to 16 bytes. The allocator aligns every allocation to at
    // least 16 bytes (memory.cpp), so those bytes are inside the weight's own allocation.
    if (pairs != 0 || dtype_info(w.dtype).quantized) d.buffers[0].size = (d.buffers[0].size + 15) / 16 * 16;
    // X_SHARED (constant_id 5): activations read as vec4.
    d.spec_constants.push_back(p.x_off % 4 == 0 && p.n_in % 4 == 0 ? 1 : 0);
  }
  if (kind == KernelFamily::matmul_rows_tokens) {
    // PAIRS_ALIGNED (constant_id 3): quantized rows as for the row kernel above (pairs_alignment;
    // a quantized binding rounded up to 16 bytes for the vector reads); F32 / F16 rows read 4
    // weights per load, so every row must start at a multiple of 4 weights.
    const bool quantized = dtype_info(w.dtype).quantized;
    const uint64_t row_units = row_bytes(w.dtype, p.n_in) / unit_bytes(w.dtype);
    const uint32_t aligned =
        quantized ? pairs_alignment(row_units, {p.w_off0}) : (p.w_off0 % 4 == 0 && p.n_in % 4 == 0 ? 1 : 0);
    d.spec_constants.push_back(aligned);
    if (quantized) d.buffers[0].size = (d.buffers[0].size + 15) / 16 * 16;
    // X_SHARED (constant_id 4): activations read as vec4.
    d.spec_constants.push_back(p.x_off % 4 == 0 && p.n_in % 4 == 0 ? 1 : 0);
  }
  const bool tails = node.params.tails.mask != 0;
  uint64_t tail_bytes = 0;
  VKGRAPH_CHECK(!tails || kind == KernelFamily::matmul_rows || kind == KernelFamily::matmul_matvec,
                "{} '{}': kernel '{}' takes no low-rank tails", op_name(node.op), node.name, k.variant.shader);
  MatmulAddPush add{};
  if (node.op == OpKind::matmul_add) {
    // r: [m, n_out] f32 at binding 3, after the output's binding 2.
    VKGRAPH_CHECK(kind != KernelFamily::matmul_tiled && kind != KernelFamily::matmul_rows_tokens,
                  "matmul_add '{}': kernel '{}' has no residual epilogue", node.name, k.variant.shader);
    add = with_residual(p, add_binding(d, in, in.input_id(2), 4));
    if (tails) {
      const TailValues tv = bind_tails(d, in, 1, p.m, &tail_bytes);
      set_push(d, with_tails(add, tv));
    } else if (!in.norm_after.valid()) {
      set_push(d, add);  // else bind_norm_epilogue's block, below
    }
  } else if (tails) {
    const TailValues tv = bind_tails(d, in, 1, p.m, &tail_bytes);
    set_push(d, with_tails(p, tv));
  } else {
    set_push(d, p);
  }

  if (kind == KernelFamily::matmul_rows || kind == KernelFamily::matmul_rows_tokens) {
    bind_x_uniform(d, in.device, 1, p.x_off % 4 == 0 && p.n_in % 4 == 0);
  }
  const uint64_t weight_bytes = uint64_t(p.n_out) * row_bytes(w.dtype, p.n_in);
  const uint64_t x_bytes = uint64_t(p.m) * p.n_in * unit_bytes(x.dtype);
  switch (kind) {
    case KernelFamily::matmul_tiled: {
      const uint32_t bm = k.tile[0], bn = k.tile[1];
      const uint64_t tiles_m = (uint64_t(p.m) + bm - 1) / bm;
      const uint64_t tiles_n = (uint64_t(p.n_out) + bn - 1) / bn;
      set_groups(d, tiles_m * tiles_n, in.device, node);
      // Each token tile reads the whole weight once; each output-row tile reads x once.
      d.bytes_read = tiles_m * weight_bytes + tiles_n * x_bytes;
      break;
    }
    case KernelFamily::matmul_rows: {
      const uint64_t rows = std::max<uint32_t>(k.tile[0], 1), tokens = std::max<uint32_t>(spec[2], 1);
      const uint64_t tiles_m = (uint64_t(p.m) + tokens - 1) / tokens;
      const uint64_t tiles_n = (uint64_t(p.n_out) + rows - 1) / rows;
      set_groups(d, tiles_m * tiles_n, in.device, node);
      // Each token tile reads the weights once; activations are re-read per row tile.
      d.bytes_read = tiles_m * weight_bytes + tiles_n * x_bytes;
      break;
    }
    case KernelFamily::matmul_rows_tokens: {
      // A workgroup owns workgroup_size x RPI rows of TOKENS tokens.
      const uint64_t rows = uint64_t(k.workgroup_size) * std::max<uint32_t>(k.tile[0], 1);
      const uint64_t tokens = std::max<uint32_t>(k.tile[1], 1);
      const uint64_t tiles_m = (uint64_t(p.m) + tokens - 1) / tokens;
      const uint64_t tiles_n = (uint64_t(p.n_out) + rows - 1) / rows;
      set_groups(d, tiles_m * tiles_n, in.device, node);
      d.bytes_read = tiles_m * weight_bytes + tiles_n * x_bytes;
      break;
    }
    case KernelFamily::matmul_dot8: {
      const uint64_t tiles_n = (uint64_t(p.n_out) + k.tile[0] - 1) / k.tile[0];
      set_groups(d, uint64_t(p.m) * tiles_n, in.device, node);
      // Each token reads the weights once; each row tile reads the token's activations.
      d.bytes_read = uint64_t(p.m) * weight_bytes + tiles_n * x_bytes;
      break;
    }
    case KernelFamily::matmul_matvec: {
      const uint64_t rows_per_group = std::max<uint32_t>(k.tile[0], 1);
      set_groups(d, (uint64_t(p.m) * p.n_out + rows_per_group - 1) / rows_per_group, in.device, node);
      d.bytes_read = uint64_t(p.m) * weight_bytes + x_bytes;
      break;
    }
    default:
      fail("matmul '{}': kernel '{}' is of family {}, not a matmul kernel", node.name, k.variant.shader,
           kernel_family_name(kind));
  }
  if (node.op == OpKind::matmul_add) d.bytes_read += uint64_t(p.m) * p.n_out * 4;  // the residual
  d.bytes_read += tail_bytes;
  d.bytes_written = uint64_t(p.m) * p.n_out * 4;
  if (in.norm_after.valid()) {
    VKGRAPH_CHECK(node.op == OpKind::matmul_add && !tails && kind == KernelFamily::matmul_rows,
                  "{} '{}': only a matmul_add on the row kernel, without tails, performs a norm (kernel {})",
                  op_name(node.op), node.name, k.variant.shader);
    bind_norm_epilogue(d, in, add);
  }
  return d;
}

}  // namespace vkgraph::vk
