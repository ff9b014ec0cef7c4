#pragma once
// The Vulkan instance: loader entry, optional Khronos validation with a debug-utils messenger
// that logs and counts every warning and error message (tests assert the count stays 0).

#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vkgraph::vk {

struct InstanceOptions {
  // Enables VK_LAYER_KHRONOS_validation and the messenger. Also enabled when the environment
  // has VKGRAPH_VALIDATION=1 (how ctest runs every test). VKGRAPH_VALIDATION=sync also turns
  // on synchronization validation.
  bool validation = false;
};

// True when the environment asks for validation (VKGRAPH_VALIDATION=1).
bool validation_requested_by_env();

class Instance {
 public:
  explicit Instance(const InstanceOptions& options = {});
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  VkInstance handle() const { return instance_; }
  // The API version the instance was created with: the loader's, capped to 1.3 (floor 1.2).
  uint32_t api_version() const { return api_version_; }
  bool validation_enabled() const { return validation_; }
  bool has_extension(const char* name) const;  // an enabled instance extension

  std::vector<VkPhysicalDevice> physical_devices() const;

  // An instance-level function (extension entry points: the loader we link may predate them).
  PFN_vkVoidFunction proc(const char* name) const;
  template <typename Fn>
  Fn get(const char* name) const {
    return reinterpret_cast<Fn>(proc(name));
  }

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  uint32_t api_version_ = 0;
  bool validation_ = false;
  std::vector<std::string> extensions_;
};

// Validation messages of severity warning or error seen by any Instance of this process since
// start. Each one is also logged at error level. Tests compare the count before and after.
uint64_t validation_error_count();
// The text of the most recent such message ("" if none), for test failure output.
std::string last_validation_message();

}  // namespace vkgraph::vk
