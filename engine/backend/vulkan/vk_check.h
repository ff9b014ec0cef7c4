#pragma once
// VkResult checking for the Vulkan backend: failures become vkgraph::Error naming the call.
//
// Fault injection, for testing that failures surface as errors and never abort: a call named
// by inject_vk_failure() (or by VKGRAPH_INJECT_VK_FAILURE="vkCall=VK_ERROR_NAME" at start-up)
// reports that result instead of its own until clear_vk_failure(). Calls match by name, the
// text before the first space of `what` ("vkMapMemory (staging)" is vkMapMemory).

#include <vulkan/vulkan.h>

#include <string_view>

namespace vkgraph::vk {

// "VK_ERROR_OUT_OF_DEVICE_MEMORY" etc.
const char* result_name(VkResult result);

// Throws Error "<what> failed: <result>" unless result is VK_SUCCESS (or an injected failure).
void vk_check(VkResult result, std::string_view what);

// `real`, or the injected failure when `call` is the injected call.
VkResult injected_result(std::string_view call, VkResult real);

void inject_vk_failure(std::string_view call, VkResult result);
void clear_vk_failure();

}  // namespace vkgraph::vk
