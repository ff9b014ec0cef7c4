#pragma once
// The Vulkan devices as the registry lists them (engine/backend/device_record.h).

#include <vector>

#include "engine/backend/device_record.h"
#include "engine/backend/vulkan/device_info.h"

namespace vkgraph::vk {

// One probed device as a record: the generic fields and the facts that matter for compute.
DeviceRecord vulkan_device_record(const DeviceInfo& info, bool is_default);

// Every physical device (one instance, probed here), the default one marked; without a loader or
// any device, one unavailable record saying why.
std::vector<DeviceRecord> list_vulkan_devices();

// The full capability report of device `index` (what `vkgraph devices` prints).
std::string describe_vulkan_device(uint32_t index);

}  // namespace vkgraph::vk
