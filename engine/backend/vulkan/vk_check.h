#pragma once
// VkResult checking for the Vulkan backend: failures become vkgraph::Error naming the call.

#include <vulkan/vulkan.h>

#include <string_view>

namespace vkgraph::vk {

// "VK_ERROR_OUT_OF_DEVICE_MEMORY" etc.
const char* result_name(VkResult result);

// Throws Error "<what> failed: <result>" unless result is VK_SUCCESS.
void vk_check(VkResult result, std::string_view what);

}  // namespace vkgraph::vk
