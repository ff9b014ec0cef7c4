#pragma once
// Overrides of device limits, to make a large device act like a small one (tests, and users
// reproducing a report from a smaller GPU). Read from the environment when a device is probed:
//   VKGRAPH_LIMIT_STORAGE_RANGE  maxStorageBufferRange
//   VKGRAPH_LIMIT_ALLOCATION     maxMemoryAllocationSize
//   VKGRAPH_LIMIT_HEAP           size of every device-local heap (what the allocator may hold)
//   VKGRAPH_LIMIT_SHARED_MEMORY  maxComputeSharedMemorySize
//   VKGRAPH_LIMIT_WORKGROUP_INVOCATIONS  maxComputeWorkGroupInvocations (and maxComputeWorkGroupSize x)
//   VKGRAPH_LIMIT_SUBGROUP_SIZE  the subgroup size kernels are chosen for (size control off): a
//                                kernel that needs wider subgroups is not chosen. The driver still
//                                runs its own width, so this only checks selection and fallbacks.
//   VKGRAPH_LIMIT_16BIT_STORAGE=0  no storageBuffer16BitAccess (nor shaderFloat16 use of it)
//   VKGRAPH_LIMIT_INT64=0        no shaderInt64 (the row kernels' 64-bit loads: mat-vec kernels run)
// Sizes are bytes with an optional K, M or G suffix (powers of 1024); counts are plain numbers.
// An override only lowers a limit; a value above the device's own is ignored. Together they
// make a desktop driver choose kernels as a phone or an Apple GPU would (docs/hardware.md).
// docs/reliability.md describes them.

#include <cstdint>
#include <optional>
#include <string_view>

namespace vkgraph::vk {

struct DeviceInfo;

struct LimitOverrides {
  std::optional<uint64_t> storage_range;
  std::optional<uint64_t> allocation;
  std::optional<uint64_t> heap;
  std::optional<uint64_t> shared_memory;
  std::optional<uint64_t> workgroup_invocations;
  std::optional<uint64_t> subgroup_size;
  bool no_16bit_storage = false;
  bool no_int64 = false;
};

// The overrides set in the environment now. Throws Error naming the variable when a value is
// not a size.
LimitOverrides limit_overrides();

// Lowers `info`'s limits and heap sizes to the overrides (logged once per device probe).
void apply_limit_overrides(DeviceInfo& info);

// "128M" -> 134217728; nullopt when `text` is not a size. Exposed for tests.
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace vkgraph::vk
