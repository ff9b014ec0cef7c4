#include "engine/backend/vulkan/kernel_requirements.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "engine/backend/vulkan/device_coopmat.h"
#include "engine/backend/vulkan/spirv_interface.h"
#include "engine/core/error.h"
#include "shaders/embedded.h"

namespace vkgraph::vk {
namespace {

std::string shape_string(const CoopMatShape& s) {
  return fmt::format("{}x{}x{} {}*{}+{}->{} ({} scope)", s.m, s.n, s.k, component_type_name(s.a),
                     component_type_name(s.b), component_type_name(s.c), component_type_name(s.result),
                     scope_name(s.scope));
}

// What the shader's SPIR-V needs that the device lacks (empty if nothing): its storage buffers
// against maxPerStageDescriptorStorageBuffers, the Vulkan memory model (cooperative-matrix
// modules declare it) and 64-bit integers. Checked when the kernel is chosen, so a device
// without them gets the next row instead of an error when the pipeline is built.
std::string shader_interface_problem(const DeviceInfo& info, const shaders::EmbeddedShader& shader) {
  static std::mutex mutex;
  static std::map<std::string_view, SpirvInterface> cache;  // shaders are embedded: names live forever
  SpirvInterface iface;
  {
    std::lock_guard lock(mutex);
    auto it = cache.find(shader.name);
    if (it == cache.end())
      it = cache.emplace(shader.name, reflect_interface(shader.spirv, std::string(shader.name))).first;
    iface = it->second;
  }
  std::string why;
  // 0: a hand-made DeviceInfo (tests) that did not set the limit; every device reports at least 4.
  if (info.max_storage_buffers_per_stage != 0 && iface.storage_buffers > info.max_storage_buffers_per_stage) {
    why = fmt::format("{} storage buffers > maxPerStageDescriptorStorageBuffers {}", iface.storage_buffers,
                      info.max_storage_buffers_per_stage);
  }
  if (iface.vulkan_memory_model && !info.vulkan_memory_model) {
    why += fmt::format("{}no vulkanMemoryModel (the shader uses the Vulkan memory model)", why.empty() ? "" : "; ");
  }
  constexpr uint32_t kCapabilityInt64 = 11;  // the row kernels read 16 bytes as two 64-bit words
  if (std::ranges::find(iface.capabilities, kCapabilityInt64) != iface.capabilities.end() && !info.shader_int64) {
    why += fmt::format("{}no shaderInt64 (the shader uses 64-bit integers)", why.empty() ? "" : "; ");
  }
  return why;
}

}  // namespace

bool device_has_coopmat_shape(const DeviceInfo& info, const CoopMatShape& shape) {
  if (!info.has_cooperative_matrix || !info.has_extension(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME)) return false;
  for (const CoopMatShape& s : info.coopmat_shapes) {
    if (s.m == shape.m && s.n == shape.n && s.k == shape.k && s.a == shape.a && s.b == shape.b && s.c == shape.c &&
        s.result == shape.result && s.scope == shape.scope) {
      return true;
    }
  }
  return false;
}

uint32_t pipeline_subgroup_size(const DeviceInfo& info, const KernelRequirements& req) {
  if (req.required_subgroup_size) return req.required_subgroup_size;
  if (req.min_subgroup_size > info.subgroup_size && info.subgroup_size_control) {
    // The smallest size the device can pin that is at least the kernel's (a power of two).
    uint32_t size = std::max<uint32_t>(info.min_subgroup_size, 1);
    while (size < req.min_subgroup_size) size *= 2;
    return size;
  }
  return 0;
}

bool device_supports(const DeviceInfo& info, const KernelRequirements& req, std::string* why_not) {
  std::string why;
  auto missing = [&why](std::string text) {
    if (!why.empty()) why += "; ";
    why += text;
  };
  uint32_t extra_shared = 0;  // the emulation's scratch
  if (req.coopmat && req.coopmat_emulated) {
    const std::optional<CoopMatShape> shape = device_coopmat_shape(info, true);
    if (!info.coopmat_emulated) {
      missing("cooperative matrices not emulated (VKGRAPH_EMULATE_COOPMAT unset)");
    } else if (!shape) {
      missing("no emulated cooperative-matrix shape the kernels take (8 or 16 each way, f16, subgroups of 4 or more)");
    } else {
      extra_shared = coopmat_emulation_scratch_bytes(info, *shape, req.workgroup_invocations);
    }
  } else if (req.coopmat) {
    if (!info.has_extension(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME) || !info.has_cooperative_matrix) {
      missing("no VK_KHR_cooperative_matrix");
    } else if (req.coopmat->m == 0) {
      if (!device_coopmat_shape(info, false)) {
        missing("no cooperative-matrix shape the kernels take (f16 x f16 + f32 -> f32, subgroup, 8 or 16 each way)");
      }
    } else if (!device_has_coopmat_shape(info, *req.coopmat)) {
      missing(fmt::format("no cooperative-matrix shape {}", shape_string(*req.coopmat)));
    }
  }
  if (req.needs_fp16 && !info.shader_float16) missing("no shaderFloat16");
  if (req.needs_int8 && !info.shader_int8) missing("no shaderInt8");
  if ((req.needs_int8_dot || req.needs_int8_dot_fast) && !info.integer_dot_product) {
    missing("no shaderIntegerDotProduct");
  } else if (req.needs_int8_dot_fast && !info.int8_dot_accelerated) {
    missing("4x8-bit integer dot product not accelerated");
  }
  if (req.needs_storage_8bit && !info.storage_buffer_8bit) missing("no storageBuffer8BitAccess");
  if (req.needs_storage_16bit && !info.storage_buffer_16bit) missing("no storageBuffer16BitAccess");
  if (req.needs_device_scope && info.vulkan_memory_model && !info.vulkan_memory_model_device_scope) {
    missing("vulkanMemoryModel without vulkanMemoryModelDeviceScope (the shader synchronizes across workgroups)");
  }
  if (req.subgroup_ops != 0) {
    const VkSubgroupFeatureFlags have = info.subgroup_ops_in_compute ? info.subgroup_ops : 0;
    const VkSubgroupFeatureFlags lacking = req.subgroup_ops & ~have;
    if (lacking)
      missing(
          fmt::format("subgroup operations [{}] unsupported in compute", fmt::join(subgroup_op_names(lacking), " ")));
  }
  if (req.min_subgroup_size && info.subgroup_size < req.min_subgroup_size &&
      !(info.subgroup_size_control && info.max_subgroup_size >= req.min_subgroup_size)) {
    missing(fmt::format("subgroup size {} < {} needed", info.subgroup_size, req.min_subgroup_size));
  }
  if (req.required_subgroup_size) {
    if (!info.subgroup_size_control) {
      if (info.subgroup_size != req.required_subgroup_size) {
        missing(fmt::format("subgroup size {} without size control, {} needed", info.subgroup_size,
                            req.required_subgroup_size));
      }
    } else if (req.required_subgroup_size < info.min_subgroup_size ||
               req.required_subgroup_size > info.max_subgroup_size) {
      missing(fmt::format("subgroup size {} outside {}..{}", req.required_subgroup_size, info.min_subgroup_size,
                          info.max_subgroup_size));
    }
  }
  if (req.shared_memory_bytes + extra_shared > info.max_shared_memory) {
    missing(fmt::format(
        "{} B shared memory{} > maxComputeSharedMemorySize {} B", req.shared_memory_bytes + extra_shared,
        extra_shared ? fmt::format(" (with {} B of emulation scratch)", extra_shared) : "", info.max_shared_memory));
  }
  if (req.workgroup_invocations > info.max_workgroup_invocations) {
    missing(fmt::format("{} invocations per workgroup > maxComputeWorkGroupInvocations {}", req.workgroup_invocations,
                        info.max_workgroup_invocations));
  }
  if (!why.empty() && why_not) *why_not = fmt::format("device '{}': {}", info.name, why);
  return why.empty();
}

const KernelVariant* select_kernel(const DeviceInfo& info, std::span<const KernelVariant> candidates,
                                   std::string* why_not) {
  std::string reasons;
  for (const KernelVariant& candidate : candidates) {
    const shaders::EmbeddedShader* shader = shaders::find(candidate.shader);
    std::string why;
    if (shader == nullptr) {
      why = "not embedded in this build";
    } else if (shader->needs_coopmat && !candidate.requirements.coopmat) {
      // A cooperative-matrix shader must state its tile; without it we cannot know it runs.
      why = "cooperative-matrix shader without a declared shape";
    } else if (device_supports(info, candidate.requirements, &why)) {
      const std::string problem = shader_interface_problem(info, *shader);
      if (problem.empty()) return &candidate;
      why = fmt::format("device '{}': {}", info.name, problem);
    }
    reasons += fmt::format("{}{}: {}", reasons.empty() ? "" : "\n", candidate.shader, why);
  }
  if (why_not) *why_not = reasons.empty() ? std::string("no candidate kernels") : reasons;
  return nullptr;
}

}  // namespace vkgraph::vk
