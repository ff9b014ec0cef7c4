#include "engine/backend/vulkan/spirv_interface.h"

#include <map>
#include <set>
#include <utility>

#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// SPIR-V opcodes and enumerants this reader needs (the SPIR-V 1.6 specification).
constexpr uint32_t kMagic = 0x07230203;
constexpr uint32_t kOpMemoryModel = 14, kOpExecutionMode = 16, kOpCapability = 17, kOpConstant = 43,
                   kOpSpecConstant = 50, kOpSpecConstantComposite = 51, kOpVariable = 59, kOpDecorate = 71,
                   kOpExecutionModeId = 331;
constexpr uint32_t kMemoryModelVulkan = 3;
constexpr uint32_t kModeLocalSize = 17, kModeLocalSizeId = 38;
constexpr uint32_t kDecorationSpecId = 1, kDecorationBuiltIn = 11, kDecorationBinding = 33,
                   kDecorationDescriptorSet = 34;
constexpr uint32_t kBuiltInWorkgroupSize = 25;
constexpr uint32_t kStorageClassStorageBuffer = 12;

}  // namespace

SpirvInterface reflect_interface(std::span<const uint32_t> words, const std::string& module_name) {
  VKGRAPH_CHECK(words.size() >= 5 && words[0] == kMagic, "'{}' is not a SPIR-V module", module_name);
  SpirvInterface out;
  std::map<uint32_t, uint32_t> spec_id;                  // result id -> SpecId
  std::map<uint32_t, uint32_t> literal;                  // constant id -> value
  std::map<uint32_t, std::vector<uint32_t>> composite;   // spec composite id -> constituents
  std::optional<uint32_t> workgroup_size_id;             // the id decorated BuiltIn WorkgroupSize
  std::vector<uint32_t> local_size_ids;                  // LocalSizeId operands
  std::map<uint32_t, uint32_t> binding, descriptor_set;  // variable id -> its decorations
  // (set, binding) of every storage-buffer variable: a shader may declare several views of one
  // binding (16-bit words and 16-byte vectors of one weight), which is still one descriptor.
  std::set<std::pair<uint32_t, uint32_t>> storage_bindings;
  for (size_t i = 5; i < words.size();) {
    const uint32_t count = words[i] >> 16, op = words[i] & 0xffff;
    VKGRAPH_CHECK(count > 0 && i + count <= words.size(), "'{}': malformed SPIR-V instruction at word {}", module_name,
                  i);
    const std::span<const uint32_t> w = words.subspan(i, count);
    if (op == kOpCapability && count >= 2) {
      out.capabilities.push_back(w[1]);
    } else if (op == kOpMemoryModel && count >= 3) {
      out.vulkan_memory_model = w[2] == kMemoryModelVulkan;
    } else if (op == kOpExecutionMode && count >= 6 && w[2] == kModeLocalSize) {
      for (int d = 0; d < 3; ++d) out.local_size[d] = w[3 + d];
    } else if (op == kOpExecutionModeId && count >= 6 && w[2] == kModeLocalSizeId) {
      local_size_ids.assign(w.begin() + 3, w.begin() + 6);
    } else if (op == kOpDecorate && count >= 4 && w[2] == kDecorationSpecId) {
      spec_id[w[1]] = w[3];
    } else if (op == kOpDecorate && count >= 4 && w[2] == kDecorationBinding) {
      binding[w[1]] = w[3];
    } else if (op == kOpDecorate && count >= 4 && w[2] == kDecorationDescriptorSet) {
      descriptor_set[w[1]] = w[3];
    } else if (op == kOpDecorate && count >= 4 && w[2] == kDecorationBuiltIn && w[3] == kBuiltInWorkgroupSize) {
      workgroup_size_id = w[1];
    } else if ((op == kOpConstant || op == kOpSpecConstant) && count >= 4) {
      literal[w[2]] = w[3];
    } else if (op == kOpSpecConstantComposite && count >= 4) {
      composite[w[2]].assign(w.begin() + 3, w.end());
    } else if (op == kOpVariable && count >= 4 && w[3] == kStorageClassStorageBuffer) {
      // Decorations precede the variables in a module (its logical layout); an undecorated
      // variable counts on its own.
      const auto b = binding.find(w[2]);
      const auto s = descriptor_set.find(w[2]);
      storage_bindings.insert(b == binding.end() ? std::pair{UINT32_MAX, w[2]}
                                                 : std::pair{s == descriptor_set.end() ? 0u : s->second, b->second});
    }
    i += count;
  }
  out.storage_buffers = uint32_t(storage_bindings.size());
  std::vector<uint32_t> size_ids = local_size_ids;
  if (workgroup_size_id) {
    if (auto it = composite.find(*workgroup_size_id); it != composite.end()) size_ids = it->second;
  }
  if (size_ids.size() == 3) {
    for (int d = 0; d < 3; ++d) {
      if (auto it = literal.find(size_ids[d]); it != literal.end()) out.local_size[d] = it->second;
    }
    if (auto it = spec_id.find(size_ids[0]); it != spec_id.end()) out.local_size_x_spec_id = it->second;
  }
  return out;
}

std::string local_size_problem(const SpirvInterface& iface) {
  if (!iface.local_size_x_spec_id) {
    return fmt::format(
        "workgroup size {}x{}x{} is literal: declare layout(local_size_x_id = 0) in; (shaders/common/grid.glsl)",
        iface.local_size[0], iface.local_size[1], iface.local_size[2]);
  }
  if (*iface.local_size_x_spec_id != 0) {
    return fmt::format("workgroup size x is specialization constant {}, not 0", *iface.local_size_x_spec_id);
  }
  if (iface.local_size[1] != 1 || iface.local_size[2] != 1) {
    return fmt::format("workgroup size y, z are {}, {}: kernels are one-dimensional", iface.local_size[1],
                       iface.local_size[2]);
  }
  return {};
}

}  // namespace vkgraph::vk
