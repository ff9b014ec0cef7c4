#pragma once
// The one kernel selection table of the Vulkan backend: (op, input types, form, device
// capabilities) -> shader variant and launch parameters. Rows are listed best first; the first
// row whose key matches and whose requirements the device meets (vk::device_supports) wins.
// Every row that exists for a vendor, driver or device limit says why in its `why`.

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "engine/backend/vulkan/kernel_requirements.h"
#include "engine/graph/graph.h"

namespace vkgraph::vk {

// What distinguishes kernels of one op beyond its types.
enum class KernelForm : uint8_t {
  any,
  vector,       // matmul with one token (decode): mat-vec
  matrix,       // matmul with several tokens (prefill): tiled mat-mat
  rope_normal,  // RopeMode::normal
  rope_neox,    // RopeMode::neox
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

// The largest workgroup of any row: MAX_WORKGROUP in shaders/common/grid.glsl.
inline constexpr uint32_t kMaxWorkgroup = 256;

struct KernelRow {
  KernelKey key;
  KernelVariant variant;           // shader name and what it needs from the device
  uint32_t workgroup_size = 0;     // specialization constant 0 (a power of two)
  std::array<uint32_t, 3> tile{};  // specialization constants 1..3 where the shader has them
  const char* why = "";            // why the row exists and when it is chosen
};

// Every row, in priority order within each key.
std::span<const KernelRow> kernel_table();

// The key of a graph node (its op, the types of the inputs that matter, and its form).
KernelKey kernel_key(const Graph& graph, const Node& node);

// The first row for `key` that `device` supports. Throws Error naming the key, the device and,
// per candidate row, what the device lacks.
const KernelRow& select_kernel_row(const DeviceInfo& device, const KernelKey& key);

}  // namespace vkgraph::vk
