#pragma once
// Overrides of device limits, to make a large device act like a small one (tests, and users
// reproducing a report from a smaller GPU). Read from the environment when a device is probed:
//   VKGRAPH_LIMIT_STORAGE_RANGE  maxStorageBufferRange
//   VKGRAPH_LIMIT_ALLOCATION     maxMemoryAllocationSize
//   VKGRAPH_LIMIT_HEAP           size of every device-local heap (what the allocator may hold)
// Values are bytes with an optional K, M or G suffix (powers of 1024). An override only lowers
// a limit; a value above the device's own is ignored. docs/reliability.md describes them.

#include <cstdint>
#include <optional>
#include <string_view>

namespace vkgraph::vk {

struct DeviceInfo;

struct LimitOverrides {
  std::optional<uint64_t> storage_range;
  std::optional<uint64_t> allocation;
  std::optional<uint64_t> heap;
};

// The overrides set in the environment now. Throws Error naming the variable when a value is
// not a size.
LimitOverrides limit_overrides();

// Lowers `info`'s limits and heap sizes to the overrides (logged once per device probe).
void apply_limit_overrides(DeviceInfo& info);

// "128M" -> 134217728; nullopt when `text` is not a size. Exposed for tests.
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace vkgraph::vk
