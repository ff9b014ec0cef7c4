#pragma once
// Which physical device to use: by index or by case-insensitive name substring (`--device`,
// else the VKGRAPH_DEVICE environment variable), else the best real GPU. A CPU implementation
// (lavapipe, SwiftShader) is never chosen over a GPU by default, but is accepted when it is the
// only device or when it is named.

#include <span>
#include <string>
#include <string_view>

#include "engine/backend/vulkan/device_info.h"

namespace vkgraph::vk {

// The environment variable embedding applications set to choose a device.
inline constexpr const char* kDeviceEnv = "VKGRAPH_DEVICE";

// `request` overrides; when empty, VKGRAPH_DEVICE is read; "" if neither is set.
std::string effective_device_request(std::string_view request);

// Returns the position in `devices` of the chosen one. `request` is an index ("0"), a name
// substring ("lavapipe", case-insensitive) or empty for the default choice. Throws Error,
// listing the available devices, when nothing matches, the substring is ambiguous, or there
// is no device at all.
size_t select_device(std::span<const DeviceInfo> devices, std::string_view request);

// "  0: llvmpipe (LLVM 15.0.6, 256 bits) [cpu]" lines, for error messages.
std::string list_devices(std::span<const DeviceInfo> devices);

}  // namespace vkgraph::vk
