#pragma once
// The one kernel selection table of the Vulkan backend: (op, input types, form, device
// capabilities) -> shader variant and launch parameters. Rows are listed best first; the first
// row whose key matches and whose requirements the device meets (vk::device_supports) wins.
// Every row that exists for a vendor, driver or device limit says why in its `why`.

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/backend/vulkan/kernel_requirements.h"
#include "engine/graph/graph.h"

namespace vkgraph::vk {

// What distinguishes kernels of one op beyond its types.
enum class KernelForm : uint8_t {
  any,
  vector,                  // matmul with one token (decode): mat-vec
  vector_tail,             // ... with low-rank tails (LoRA adapters: OpParams::tails)
  vector_norm,             // matmul_add with the rms_norm_mul of its result (no node has it: the lowering asks)
  vector_rope,             // matmul_cat with the rope of its q and k heads and its cache writes (likewise)
  matrix,                  // matmul with several tokens (prefill): tiled mat-mat
  rope_normal,             // RopeMode::normal
  rope_neox,               // RopeMode::neox
  rope_normal_kv,          // a normal rope with the KV-cache writes it absorbs (no node has it: the lowering asks)
  rope_neox_kv,            // ... a NEOX one
  attention_decode,        // attention with one query row
  attention_tiled,         // attention with several query rows (prefill), head_dim not a multiple of 16
  attention_tiled16,       // ... head_dim a multiple of 16: cooperative-matrix tiles can apply
  attention_split_reduce,  // the reduce pass of split-K decode (no node has it: the lowering asks)
};
const char* kernel_form_name(KernelForm form);

struct KernelKey {
  OpKind op = OpKind::leaf;
  DType a = DType::F32;  // the type that picks the kernel: weight (matmul), table (get_rows),
                         // source (kv_write, convert), K/V (attention), else the first input
  DType b = DType::F32;  // the second: activations (matmul), cache (kv_write), result (convert)
  KernelForm form = KernelForm::any;
  friend bool operator==(const KernelKey&, const KernelKey&) = default;
};
std::string kernel_key_string(const KernelKey& key);  // "matmul(q8_0, f32, vector)"

// When a row is chosen, beyond the device being able to run it (its requirements): a CPU-class
// device (lavapipe, SwiftShader: a workgroup is a loop on one core, a subgroup its SIMD width)
// wants other shapes than a GPU, and some kernels run everywhere but only pay off where a
// feature is fast.
enum class RowWhen : uint8_t {
  always,
  cpu,            // VK_PHYSICAL_DEVICE_TYPE_CPU
  gpu,            // any other device type
  int8_dot_fast,  // integerDotProduct4x8BitPackedSignedAccelerated
};
const char* row_when_name(RowWhen when);
bool row_applies(RowWhen when, const DeviceInfo& device);

// The largest workgroup of any row: MAX_WORKGROUP in shaders/common/grid.glsl.
inline constexpr uint32_t kMaxWorkgroup = 256;

// The shader program a row runs, which decides how the lowering launches it: its
// specialization constants, push constants, bindings and workgroup grid. Several rows (weight
// types, devices) share a family; a new weight type adds rows, not families.
enum class KernelFamily : uint8_t {
  elementwise,             // shaders/elementwise: one invocation per element
  row_reduction,           // shaders/norm, softmax, argmax: one workgroup per row
  rope,                    // shaders/rope
  rope_kv,                 // shaders/rope with ROPE_KV: a rope and up to two kv_writes in one dispatch
  get_rows,                // shaders/get_rows
  kv_write,                // shaders/kv
  matmul_matvec,           // matmul/matvec.comp: rows split over invocations, shared-memory reduction
  matmul_rows,             // matmul/matvec_rows.comp: ROWS x LANES x TOKENS, subgroup reduction
  matmul_rows_tokens,      // matmul/matmul_rows_tokens.comp: a register tile of rows x tokens
  matmul_dot8,             // matmul/matvec_dot8.comp: int8 activations, integer dot products
  matmul_tiled,            // matmul/matmul_tiled.comp and matmul_coopmat.comp: BM x BN x BK tiles
  attention_split,         // attention/attention_split.comp: split-K decode
  attention_reduce,        // attention/attention_reduce.comp: split-K's second pass
  attention_tiled,         // attention/attention_tiled.comp: prefill tiles, portable or coopmat
  attention_rows,          // attention/attention_rows.comp: prefill on CPU-class devices, a query row per invocation
  attention_paged,         // attention/paged_attention.comp: the paged cache, every query of a batched step
  attention_paged_direct,  // attention/attention_split.comp (PAGED_ATTENTION): the paged cache, a row per workgroup
};
const char* kernel_family_name(KernelFamily family);

struct KernelRow {
  KernelKey key;
  KernelFamily family = KernelFamily::elementwise;
  KernelVariant variant;           // shader name and what it needs from the device
  uint32_t workgroup_size = 0;     // specialization constant 0 (a power of two)
  std::array<uint32_t, 3> tile{};  // specialization constants 1..3 where the shader has them
  const char* why = "";            // why the row exists and when it is chosen
  RowWhen when = RowWhen::always;  // device class or fast feature the row is meant for
};

// Every row, in priority order within each key.
std::span<const KernelRow> kernel_table();

// A row's name: its shader, then "@when" where the row is meant for a device class, then
// "#N" where several rows share both (N counts them from 0 in table order), e.g.
// "matmul/rows_q4_0_f32@cpu#1". Unique in the table; `vkgraph test-ops --kernel` takes it.
std::string kernel_row_name(const KernelRow& row);

// The rows a selector names: a row name, or a shader (every row of it), or "shader@when".
// Empty when none matches.
std::vector<const KernelRow*> find_kernel_rows(std::string_view selector);

// The key of a graph node (its op, the types of the inputs that matter, and its form).
KernelKey kernel_key(const Graph& graph, const Node& node);

// The first row for `key` that `device` supports. Throws Error naming the key, the device and,
// per candidate row, what the device lacks.
const KernelRow& select_kernel_row(const DeviceInfo& device, const KernelKey& key);
// The same among the rows `usable` accepts (rows whose pipeline the driver failed to build are
// skipped this way); the error names the rows it refused.
const KernelRow& select_kernel_row(const DeviceInfo& device, const KernelKey& key,
                                   const std::function<bool(const KernelRow&)>& usable);

// Whether a ForcedKernels list in force names this row.
bool kernel_row_forced(const KernelRow& row);

// Forces shader variants (or rows) for as long as it lives (tests and benchmarks that must run a variant
// the table would not pick on this device, e.g. the integer-dot path on lavapipe): rows whose
// shader is listed win over every other row of their key, whatever their `when`, as long as
// the device can run them. An entry "shader@gpu" (a row_when_name) forces only the row of that
// shader meant for that device class; an entry that is a row name (kernel_row_name) forces that
// row only. Process-wide; not for concurrent use with differing lists.
class ForcedKernels {
 public:
  explicit ForcedKernels(std::vector<std::string> shaders);
  ~ForcedKernels();
  ForcedKernels(const ForcedKernels&) = delete;
  ForcedKernels& operator=(const ForcedKernels&) = delete;

 private:
  std::vector<std::string> previous_;
};

}  // namespace vkgraph::vk
