#include "engine/backend/vulkan/kernel_table.h"

#include <fmt/format.h>

#include <vector>

#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

constexpr DType F32 = DType::F32;
constexpr DType F16 = DType::F16;
constexpr DType I32 = DType::I32;
constexpr DType Q8 = DType::Q8_0;
constexpr DType Q4 = DType::Q4_0;

// F16 tensors and quantized blocks (read as uint16_t words) need 16-bit storage access.
bool needs_16bit(DType t) { return t != F32 && t != I32; }

KernelRequirements requirements(DType a, DType b, uint32_t invocations, uint32_t shared_bytes) {
  KernelRequirements req;
  req.needs_storage_16bit = needs_16bit(a) || needs_16bit(b);
  req.workgroup_invocations = invocations;
  req.shared_memory_bytes = shared_bytes;
  return req;
}

// A one-invocation-per-element kernel: 256 wide, and a 128-wide fallback because Vulkan only
// guarantees maxComputeWorkGroupInvocations >= 128 and some mobile GPUs stop there.
void add_elementwise(std::vector<KernelRow>& rows, KernelKey key, const char* shader) {
  rows.push_back({key, {shader, requirements(key.a, key.b, 256, 0)}, 256, {}, "element-wise, 256 invocations"});
  rows.push_back({key,
                  {shader, requirements(key.a, key.b, 128, 0)},
                  128,
                  {},
                  "devices limited to 128 invocations per workgroup (the Vulkan minimum)"});
}

// Shared arrays with one entry per invocation are sized for MAX_WORKGROUP (shaders/common/grid.glsl)
// invocations, whatever the row's workgroup size.
constexpr uint32_t kReduceBytes = kMaxWorkgroup * 4;

// One workgroup per row with a shared-memory reduction. 128 wide: a row of a llama model is
// 2048-8192 wide, so each invocation sums 16-64 values.
void add_row_kernel(std::vector<KernelRow>& rows, KernelKey key, const char* shader, uint32_t extra_shared = 0) {
  rows.push_back({key,
                  {shader, requirements(key.a, key.b, 128, kReduceBytes + extra_shared)},
                  128,
                  {},
                  "one workgroup per row, shared-memory reduction"});
}

void add_matmul(std::vector<KernelRow>& rows, DType w, DType x, const char* matvec, const char* tiled) {
  // Mat-vec: 64 invocations for 4 output rows, 16 per row; each takes whole 32-weight blocks so
  // a quantized block's scale is read once. 16 lanes suit n_in from 512 (16 blocks) up; 4 rows a
  // workgroup cut the per-workgroup cost that dominates on CPU drivers (lavapipe: ~3x faster
  // than one row per workgroup on a 32000 x 512 Q8_0 output matrix). Weights are read once.
  rows.push_back({{OpKind::matmul, w, x, KernelForm::vector},
                  {matvec, requirements(w, x, 64, kReduceBytes)},
                  64,
                  {4},
                  "decode: 4 output rows per workgroup, reduction across each row's 16 invocations"});
  // Tiled: 32 tokens x 32 output rows x 32 of n_in per step (one quant block along k), 4x4
  // accumulators per invocation -> 64 invocations and 8 KiB of shared memory, well inside the
  // 16 KiB every Vulkan device has.
  rows.push_back({{OpKind::matmul, w, x, KernelForm::matrix},
                  {tiled, requirements(w, x, 64, 2 * 32 * 32 * 4)},
                  64,
                  {32, 32, 32},
                  "prefill: portable shared-memory tiles (no cooperative-matrix variant yet)"});
}

std::vector<KernelRow> build_table() {
  std::vector<KernelRow> r;
  add_elementwise(r, {OpKind::add, F32, F32}, "elementwise/add_f32");
  add_elementwise(r, {OpKind::mul, F32, F32}, "elementwise/mul_f32");
  add_elementwise(r, {OpKind::scale, F32}, "elementwise/scale_f32");
  add_elementwise(r, {OpKind::silu, F32}, "elementwise/silu_f32");
  add_elementwise(r, {OpKind::swiglu, F32, F32}, "elementwise/swiglu_f32");
  add_elementwise(r, {OpKind::convert, F32, F16}, "elementwise/convert_f32_f16");
  add_elementwise(r, {OpKind::convert, F16, F32}, "elementwise/convert_f16_f32");
  add_elementwise(r, {OpKind::convert, F32, F32}, "elementwise/copy_f32");
  add_elementwise(r, {OpKind::convert, F16, F16}, "elementwise/copy_f16");

  add_row_kernel(r, {OpKind::rms_norm, F32}, "norm/rms_norm_f32");
  add_row_kernel(r, {OpKind::rms_norm_mul, F32, F32}, "norm/rms_norm_mul_f32");
  add_row_kernel(r, {OpKind::softmax, F32}, "softmax/softmax_f32");
  add_row_kernel(r, {OpKind::argmax, F32}, "argmax/argmax_f32", kReduceBytes);  // + the index array

  add_elementwise(r, {OpKind::rope, F32, I32, KernelForm::rope_normal}, "rope/rope_normal_f32");
  add_elementwise(r, {OpKind::rope, F32, I32, KernelForm::rope_neox}, "rope/rope_neox_f32");

  add_matmul(r, F32, F32, "matmul/matvec_f32_f32", "matmul/tiled_f32_f32");
  add_matmul(r, F32, F16, "matmul/matvec_f32_f16", "matmul/tiled_f32_f16");
  add_matmul(r, F16, F32, "matmul/matvec_f16_f32", "matmul/tiled_f16_f32");
  add_matmul(r, F16, F16, "matmul/matvec_f16_f16", "matmul/tiled_f16_f16");
  add_matmul(r, Q8, F32, "matmul/matvec_q8_0_f32", "matmul/tiled_q8_0_f32");
  add_matmul(r, Q8, F16, "matmul/matvec_q8_0_f16", "matmul/tiled_q8_0_f16");
  add_matmul(r, Q4, F32, "matmul/matvec_q4_0_f32", "matmul/tiled_q4_0_f32");
  add_matmul(r, Q4, F16, "matmul/matvec_q4_0_f16", "matmul/tiled_q4_0_f16");

  add_elementwise(r, {OpKind::get_rows, F32, I32}, "get_rows/get_rows_f32");
  add_elementwise(r, {OpKind::get_rows, F16, I32}, "get_rows/get_rows_f16");
  add_elementwise(r, {OpKind::get_rows, Q8, I32}, "get_rows/get_rows_q8_0");
  add_elementwise(r, {OpKind::get_rows, Q4, I32}, "get_rows/get_rows_q4_0");

  add_elementwise(r, {OpKind::kv_write, F32, F32}, "kv/kv_write_f32_f32");
  add_elementwise(r, {OpKind::kv_write, F32, F16}, "kv/kv_write_f32_f16");

  // Attention: 64 invocations, one key each per chunk. Shared memory: q and the accumulator
  // (head_dim <= 256 floats each) plus two per-invocation arrays (probabilities, reduction).
  for (DType kv : {F32, F16}) {
    const char* shader = kv == F32 ? "attention/attention_kv_f32" : "attention/attention_kv_f16";
    r.push_back({{OpKind::attention, kv, F32},
                 {shader, requirements(kv, F32, 64, 2 * 256 * 4 + 2 * kReduceBytes)},
                 64,
                 {},
                 "first kernel: one workgroup per (query row, head), online softmax"});
  }
  return r;
}

}  // namespace

const char* kernel_form_name(KernelForm form) {
  switch (form) {
    case KernelForm::any:
      return "any";
    case KernelForm::vector:
      return "vector";
    case KernelForm::matrix:
      return "matrix";
    case KernelForm::rope_normal:
      return "normal";
    case KernelForm::rope_neox:
      return "neox";
  }
  return "?";
}

std::string kernel_key_string(const KernelKey& key) {
  std::string s = fmt::format("{}({}, {}", op_name(key.op), dtype_name(key.a), dtype_name(key.b));
  if (key.form != KernelForm::any) s += fmt::format(", {}", kernel_form_name(key.form));
  return s + ")";
}

std::span<const KernelRow> kernel_table() {
  static const std::vector<KernelRow> table = build_table();
  return table;
}

KernelKey kernel_key(const Graph& graph, const Node& node) {
  auto in = [&](size_t i) { return graph.node(node.inputs.at(i)).dtype; };
  KernelKey key{node.op};
  switch (node.op) {
    case OpKind::matmul: {
      key.a = in(0);
      key.b = in(1);
      // The activations' rows: everything but the last dimension of x.
      const Shape& x = graph.node(node.inputs[1]).shape;
      key.form = element_count(x) == x.back() ? KernelForm::vector : KernelForm::matrix;
      break;
    }
    case OpKind::get_rows:
    case OpKind::rope:
      key.a = in(0);
      key.b = in(1);
      if (node.op == OpKind::rope) {
        key.form = node.params.rope.mode == RopeMode::neox ? KernelForm::rope_neox : KernelForm::rope_normal;
      }
      break;
    case OpKind::kv_write:  // inputs: cache, src, slots
      key.a = in(1);
      key.b = in(0);
      break;
    case OpKind::attention:  // inputs: q, k, v, q_pos, kv_pos
      key.a = in(1);
      key.b = in(0);
      VKGRAPH_CHECK(in(1) == in(2), "attention '{}': k is {} but v is {}; the kernels need one cache type", node.name,
                    dtype_name(in(1)), dtype_name(in(2)));
      break;
    case OpKind::convert:
      key.a = in(0);
      key.b = node.params.dtype;
      break;
    case OpKind::add:
    case OpKind::mul:
    case OpKind::swiglu:
    case OpKind::rms_norm_mul:
      key.a = in(0);
      key.b = in(1);
      break;
    default:
      if (!node.inputs.empty()) key.a = in(0);
      break;
  }
  return key;
}

const KernelRow& select_kernel_row(const DeviceInfo& device, const KernelKey& key) {
  std::vector<const KernelRow*> rows;
  std::vector<KernelVariant> candidates;
  for (const KernelRow& row : kernel_table()) {
    if (row.key == key) {
      rows.push_back(&row);
      candidates.push_back(row.variant);
    }
  }
  if (rows.empty()) {
    fail("no Vulkan kernel for {}: the kernel table has no row with these types", kernel_key_string(key));
  }
  std::string why_not;
  const KernelVariant* chosen = select_kernel(device, candidates, &why_not);
  if (chosen == nullptr) {
    fail("device '{}' can run no kernel for {}:\n{}", device.name, kernel_key_string(key), why_not);
  }
  return *rows[size_t(chosen - candidates.data())];
}

}  // namespace vkgraph::vk
