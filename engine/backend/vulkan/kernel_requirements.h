#pragma once
// What a kernel variant needs from the device, and the check that a device has it. The op kernel
// table lists candidate variants per op, best first, each with its requirements; the first one
// the device supports is used. A variant built with GL_KHR_cooperative_matrix (EmbeddedShader::
// needs_coopmat) is only ever chosen when the device reports VK_KHR_cooperative_matrix AND the
// exact shape and component types the variant uses.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/backend/vulkan/device_info.h"

namespace vkgraph::vk {

struct KernelRequirements {
  // Cooperative-matrix tile the shader uses (m, n, k, component types, scope). Set exactly
  // when the shader is a COOPMAT (or COOPMAT_EMULATED) variant. Sizes 0: the kernel takes the
  // device's shape as specialization constants (device_coopmat_shape); else that exact one.
  std::optional<CoopMatShape> coopmat;
  // The variant runs over the emulation (shaders/common/coopmat_emulated.glsl): chosen only on
  // a device emulating shapes (VKGRAPH_EMULATE_COOPMAT), with its scratch counted as shared memory.
  bool coopmat_emulated = false;
  bool needs_fp16 = false;           // shaderFloat16 arithmetic
  bool needs_int8 = false;           // shaderInt8 arithmetic
  bool needs_int8_dot = false;       // shaderIntegerDotProduct (any speed)
  bool needs_int8_dot_fast = false;  // ... and 4x8-bit packed signed dot is accelerated
  bool needs_storage_8bit = false;   // storageBuffer8BitAccess
  bool needs_storage_16bit = false;  // storageBuffer16BitAccess
  // Device-scope barriers and atomics (one workgroup reading what others of the dispatch wrote):
  // where the vulkanMemoryModel feature is on, they need vulkanMemoryModelDeviceScope too.
  bool needs_device_scope = false;
  VkSubgroupFeatureFlags subgroup_ops = 0;  // VK_SUBGROUP_FEATURE_* used in compute
  uint32_t min_subgroup_size = 0;           // the kernel's logic assumes subgroups at least this big
  uint32_t required_subgroup_size = 0;      // pinned via subgroup size control (0: any)
  uint32_t shared_memory_bytes = 0;         // shared memory per workgroup
  uint32_t workgroup_invocations = 0;       // local_size_x*y*z
};

// True when `info` can run a kernel with `req`. Otherwise false, and *why_not (if given) says
// what is missing, naming the device and the number expected.
bool device_supports(const DeviceInfo& info, const KernelRequirements& req, std::string* why_not = nullptr);

// The requiredSubgroupSize a pipeline of a kernel with `req` must be created with on `info` (0:
// the driver's choice): the kernel's own pin, else, when the kernel needs subgroups of at least
// min_subgroup_size and the device's default is smaller, that size (device_supports accepted it
// only because size control reaches it; without the pin the driver would run the default).
uint32_t pipeline_subgroup_size(const DeviceInfo& info, const KernelRequirements& req);

// True when the device lists a cooperative-matrix entry equal to `shape` (sizes, all four
// component types and the scope).
bool device_has_coopmat_shape(const DeviceInfo& info, const CoopMatShape& shape);

// One candidate implementation of a kernel: an embedded shader variant and its requirements.
struct KernelVariant {
  std::string_view shader;  // vkgraph::shaders::find() name, e.g. "probe/coopmat_16x16x16_f16"
  KernelRequirements requirements;
};

// The first candidate (best first) that is embedded in this build and supported by the device,
// or nullptr; *why_not then collects, one line per candidate, why each was rejected. A shader
// flagged needs_coopmat whose requirements lack a coopmat shape is rejected (never guessed).
const KernelVariant* select_kernel(const DeviceInfo& info, std::span<const KernelVariant> candidates,
                                   std::string* why_not = nullptr);

}  // namespace vkgraph::vk
