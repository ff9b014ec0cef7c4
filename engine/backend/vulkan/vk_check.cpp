#include "engine/backend/vulkan/vk_check.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include "engine/core/error.h"

namespace vkgraph::vk {

const char* result_name(VkResult result) {
  switch (result) {
    case VK_SUCCESS:
      return "VK_SUCCESS";
    case VK_NOT_READY:
      return "VK_NOT_READY";
    case VK_TIMEOUT:
      return "VK_TIMEOUT";
    case VK_INCOMPLETE:
      return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED:
      return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST:
      return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED:
      return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT:
      return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT:
      return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT:
      return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER:
      return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS:
      return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED:
      return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_FRAGMENTED_POOL:
      return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY:
      return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_EXTERNAL_HANDLE:
      return "VK_ERROR_INVALID_EXTERNAL_HANDLE";
    case VK_ERROR_FRAGMENTATION:
      return "VK_ERROR_FRAGMENTATION";
    case VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS:
      return "VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS";
    case VK_PIPELINE_COMPILE_REQUIRED:
      return "VK_PIPELINE_COMPILE_REQUIRED";
    case VK_ERROR_UNKNOWN:
      return "VK_ERROR_UNKNOWN";
    default:
      return "VkResult(unknown)";
  }
}

namespace {

struct Injection {
  std::mutex mutex;
  std::atomic<bool> armed{false};  // checked first: the common case costs one relaxed load
  std::string call;
  VkResult result = VK_SUCCESS;
};

VkResult result_from_name(std::string_view name) {
  for (VkResult r : {VK_ERROR_OUT_OF_HOST_MEMORY, VK_ERROR_OUT_OF_DEVICE_MEMORY, VK_ERROR_INITIALIZATION_FAILED,
                     VK_ERROR_DEVICE_LOST, VK_ERROR_MEMORY_MAP_FAILED, VK_ERROR_TOO_MANY_OBJECTS,
                     VK_ERROR_FRAGMENTED_POOL, VK_ERROR_OUT_OF_POOL_MEMORY, VK_ERROR_UNKNOWN, VK_TIMEOUT}) {
    if (name == result_name(r)) return r;
  }
  fail(
      "VKGRAPH_INJECT_VK_FAILURE: '{}' is not a VkResult this can inject (e.g. VK_ERROR_DEVICE_LOST, "
      "VK_ERROR_OUT_OF_DEVICE_MEMORY)",
      name);
}

Injection& injection() {
  static Injection* state = [] {
    auto* s = new Injection();  // never destroyed: vk_check may run during static destruction
    if (const char* env = std::getenv("VKGRAPH_INJECT_VK_FAILURE"); env && *env) {
      const std::string_view spec(env);
      const size_t eq = spec.find('=');
      VKGRAPH_CHECK(eq != std::string_view::npos && eq > 0,
                    "VKGRAPH_INJECT_VK_FAILURE='{}' must be vkCall=VK_ERROR_NAME", spec);
      s->call = std::string(spec.substr(0, eq));
      s->result = result_from_name(spec.substr(eq + 1));
      s->armed = true;
    }
    return s;
  }();
  return *state;
}

}  // namespace

VkResult injected_result(std::string_view call, VkResult real) {
  Injection& inj = injection();
  if (!inj.armed.load(std::memory_order_relaxed)) return real;
  const std::string_view name = call.substr(0, call.find(' '));
  std::lock_guard lock(inj.mutex);
  return inj.armed && name == inj.call ? inj.result : real;
}

void inject_vk_failure(std::string_view call, VkResult result) {
  Injection& inj = injection();
  std::lock_guard lock(inj.mutex);
  inj.call = std::string(call);
  inj.result = result;
  inj.armed = true;
}

void clear_vk_failure() {
  Injection& inj = injection();
  std::lock_guard lock(inj.mutex);
  inj.armed = false;
}

void vk_check(VkResult result, std::string_view what) {
  result = injected_result(what, result);
  if (result != VK_SUCCESS) fail("{} failed: {} ({})", what, result_name(result), static_cast<int>(result));
}

}  // namespace vkgraph::vk
