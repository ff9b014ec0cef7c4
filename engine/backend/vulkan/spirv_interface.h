#pragma once
// What a compute shader's SPIR-V asks of the device and of its launch, read from the module:
// the capabilities and memory model it declares, how many storage buffers it binds, and where
// its workgroup size comes from. Kernel selection checks the first two against the device when
// a kernel is chosen (not when its pipeline is built); the build and a test check the third
// (every kernel takes its size from specialization constant 0: shaders/common/grid.glsl).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vkgraph::vk {

struct SpirvInterface {
  std::vector<uint32_t> capabilities;  // OpCapability operands (SPIR-V Capability enum)
  bool vulkan_memory_model = false;    // OpMemoryModel Vulkan (the vulkanMemoryModel feature)
  uint32_t storage_buffers = 0;        // descriptor bindings of StorageBuffer variables (aliases once)
  // The workgroup size: from specialization constants (the x component's SpecId) or literal.
  std::optional<uint32_t> local_size_x_spec_id;
  uint32_t local_size[3] = {1, 1, 1};  // the literal (or default) size
};

// Reads `words`. Throws Error naming `module_name` when they are not a SPIR-V module.
SpirvInterface reflect_interface(std::span<const uint32_t> words, const std::string& module_name);

// The problem with a kernel's workgroup-size declaration, empty when it has none: every
// kernel's x size must be specialization constant 0 (set by the host to what the kernel table
// row says) and y, z literal 1.
std::string local_size_problem(const SpirvInterface& iface);

}  // namespace vkgraph::vk
