#pragma once
// `vkgraph devices --json`: a Vulkan device's full capability probe, and any device of another
// backend from its registry record.

#include <nlohmann/json.hpp>

#include "engine/backend/device_record.h"
#include "engine/backend/vulkan/device_info.h"

namespace vkgraph::cli {

nlohmann::json device_json(const vk::DeviceInfo& info);

// {"backend", "available", "index", "name", "memory_bytes", "pci_bus_id", "default", then the
// record's properties}; an unavailable record gives {"backend", "available": false, "reason",
// then its properties}. A property "yes"/"no" becomes a JSON boolean.
nlohmann::json record_json(const DeviceRecord& device);

}  // namespace vkgraph::cli
