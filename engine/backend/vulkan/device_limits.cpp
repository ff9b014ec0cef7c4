#include "engine/backend/vulkan/device_limits.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "engine/backend/vulkan/device_info.h"
#include "engine/core/error.h"
#include "engine/core/log.h"

namespace vkgraph::vk {
namespace {

std::optional<uint64_t> read_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  const std::optional<uint64_t> bytes = parse_size(value);
  VKGRAPH_CHECK(bytes && *bytes > 0, "{}='{}' is not a size (expected bytes, optionally with K, M or G, e.g. 128M)",
                name, value);
  return bytes;
}

// A feature switch: "0" turns the feature off, "1" or unset leaves it as the device has it.
bool feature_off(const char* name, const char* feature) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return false;
  VKGRAPH_CHECK(std::string_view(v) == "0" || std::string_view(v) == "1", "{}='{}' must be 0 (no {}) or 1", name, v,
                feature);
  return std::string_view(v) == "0";
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    const uint64_t digit = uint64_t(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (i == 0) return std::nullopt;
  unsigned shift = 0;
  if (i < text.size()) {
    switch (text[i]) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      default:
        return std::nullopt;
    }
    ++i;
    if (i < text.size() && (text[i] == 'i' || text[i] == 'B')) ++i;  // "MiB", "MB"
    if (i < text.size() && text[i] == 'B') ++i;
  }
  if (i != text.size()) return std::nullopt;
  if (shift && value > (UINT64_MAX >> shift)) return std::nullopt;
  return value << shift;
}

LimitOverrides limit_overrides() {
  LimitOverrides o;
  o.storage_range = read_env("VKGRAPH_LIMIT_STORAGE_RANGE");
  o.allocation = read_env("VKGRAPH_LIMIT_ALLOCATION");
  o.heap = read_env("VKGRAPH_LIMIT_HEAP");
  o.shared_memory = read_env("VKGRAPH_LIMIT_SHARED_MEMORY");
  o.workgroup_invocations = read_env("VKGRAPH_LIMIT_WORKGROUP_INVOCATIONS");
  o.subgroup_size = read_env("VKGRAPH_LIMIT_SUBGROUP_SIZE");
  o.no_16bit_storage = feature_off("VKGRAPH_LIMIT_16BIT_STORAGE", "16-bit storage");
  o.no_int64 = feature_off("VKGRAPH_LIMIT_INT64", "64-bit integers");
  return o;
}

void apply_limit_overrides(DeviceInfo& info) {
  const LimitOverrides o = limit_overrides();
  if (o.storage_range && *o.storage_range < info.max_storage_buffer_range) {
    info.max_storage_buffer_range = *o.storage_range;
    log::info("device '{}': maxStorageBufferRange lowered to {} (VKGRAPH_LIMIT_STORAGE_RANGE)", info.name,
              format_bytes(info.max_storage_buffer_range));
  }
  if (o.allocation && *o.allocation < info.max_memory_allocation_size) {
    info.max_memory_allocation_size = *o.allocation;
    log::info("device '{}': maxMemoryAllocationSize lowered to {} (VKGRAPH_LIMIT_ALLOCATION)", info.name,
              format_bytes(info.max_memory_allocation_size));
  }
  if (o.shared_memory && *o.shared_memory < info.max_shared_memory) {
    info.max_shared_memory = uint32_t(*o.shared_memory);
    log::info("device '{}': maxComputeSharedMemorySize lowered to {} (VKGRAPH_LIMIT_SHARED_MEMORY)", info.name,
              format_bytes(info.max_shared_memory));
  }
  if (o.workgroup_invocations && *o.workgroup_invocations < info.max_workgroup_invocations) {
    info.max_workgroup_invocations = uint32_t(*o.workgroup_invocations);
    info.max_workgroup_size[0] = std::min(info.max_workgroup_size[0], info.max_workgroup_invocations);
    log::info("device '{}': maxComputeWorkGroupInvocations lowered to {} (VKGRAPH_LIMIT_WORKGROUP_INVOCATIONS)",
              info.name, info.max_workgroup_invocations);
  }
  if (o.subgroup_size && *o.subgroup_size < info.subgroup_size) {
    info.subgroup_size = info.min_subgroup_size = info.max_subgroup_size = uint32_t(*o.subgroup_size);
    info.subgroup_size_control = false;
    log::info("device '{}': kernels chosen for subgroups of {} (VKGRAPH_LIMIT_SUBGROUP_SIZE)", info.name,
              info.subgroup_size);
  }
  if (o.no_16bit_storage && info.storage_buffer_16bit) {
    info.storage_buffer_16bit = false;
    log::info("device '{}': 16-bit storage off (VKGRAPH_LIMIT_16BIT_STORAGE=0)", info.name);
  }
  if (o.no_int64 && info.shader_int64) {
    info.shader_int64 = false;
    log::info("device '{}': 64-bit integers off (VKGRAPH_LIMIT_INT64=0)", info.name);
  }
  if (o.heap) {
    // Drivers without a device-local heap (some software ones) allocate from the others.
    const bool any_local = std::any_of(info.memory_heaps.begin(), info.memory_heaps.end(),
                                       [](const MemoryHeapInfo& h) { return h.device_local; });
    for (MemoryHeapInfo& heap : info.memory_heaps) {
      if ((heap.device_local || !any_local) && *o.heap < heap.size) heap.size = *o.heap;
    }
    log::info("device '{}': device-local heaps limited to {} (VKGRAPH_LIMIT_HEAP)", info.name, format_bytes(*o.heap));
  }
}

}  // namespace vkgraph::vk
