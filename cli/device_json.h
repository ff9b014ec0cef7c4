#pragma once
// The device probe as JSON (`vkgraph devices --json`, bench rows).

#include <nlohmann/json.hpp>

#include "engine/backend/vulkan/device_info.h"

namespace vkgraph::cli {

nlohmann::json device_json(const vk::DeviceInfo& info);

}  // namespace vkgraph::cli
