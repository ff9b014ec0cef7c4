#pragma once
// One Vulkan device ready for compute: the instance, the chosen physical device, a VkDevice with
// every feature we use that the device has enabled, a compute queue, the memory allocator and
// the pipeline cache. Shared by everything that runs on the device (shared_ptr).

#include <vulkan/vulkan.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend/vulkan/device_info.h"
#include "engine/backend/vulkan/instance.h"
#include "engine/backend/vulkan/kernel_requirements.h"

namespace vkgraph::vk {

class MemoryAllocator;
class PipelineCache;

// Device features a caller can require by name (`--require fp16` on the command line).
enum class Feature {
  fp16,                   // shaderFloat16
  int8,                   // shaderInt8
  storage_8bit,           // storageBuffer8BitAccess
  storage_16bit,          // storageBuffer16BitAccess
  integer_dot_product,    // shaderIntegerDotProduct
  subgroup_size_control,  // subgroupSizeControl + computeFullSubgroups
  cooperative_matrix,     // VK_KHR_cooperative_matrix
  timestamps,             // timestamp queries on the compute queue
};

const char* feature_name(Feature feature);  // "fp16", "cooperative_matrix", ...
// Parses a feature name as printed by feature_name(); throws Error listing the known names.
Feature parse_feature(std::string_view name);
bool device_has(const DeviceInfo& info, Feature feature);

struct DeviceRequest {
  std::string device;             // index or name substring; "" = VKGRAPH_DEVICE, else default
  bool validation = false;        // also on with VKGRAPH_VALIDATION=1
  std::vector<Feature> required;  // checked at creation (Error naming device and feature)
  // Uploads and downloads through a staging buffer even where device memory is host-visible,
  // as on discrete GPUs (tests exercise that path on lavapipe with it; also env
  // VKGRAPH_FORCE_STAGING=1).
  bool force_staging = false;
};

// The features enabled on the VkDevice (the subset of DeviceInfo the device really has).
struct EnabledFeatures {
  bool fp16 = false, int8 = false, int16 = false, int64 = false;
  bool storage_8bit = false, storage_16bit = false;
  bool integer_dot_product = false;
  bool subgroup_size_control = false, compute_full_subgroups = false;
  bool cooperative_matrix = false;
  bool vulkan_memory_model = false, vulkan_memory_model_device_scope = false;
  bool host_query_reset = false;
};

class Context : public std::enable_shared_from_this<Context> {
 public:
  // Creates the instance and device. Throws Error (listing devices) when the device request
  // matches nothing, a required feature is missing, or vkCreateDevice fails.
  static std::shared_ptr<Context> create(const DeviceRequest& request = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& info() const { return info_; }
  const EnabledFeatures& enabled() const { return enabled_; }
  const DeviceRequest& request() const { return request_; }
  const Instance& instance() const { return *instance_; }
  VkPhysicalDevice physical_device() const { return physical_; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return queue_family_; }

  bool has(Feature feature) const;
  // Throws Error "device '<name>' lacks <feature> (needed for <what>)".
  void require(Feature feature, std::string_view what = {}) const;
  // Throws Error naming the device, the kernel and what is missing.
  void require(const KernelRequirements& req, std::string_view kernel) const;

  MemoryAllocator& memory() { return *memory_; }
  PipelineCache& pipelines() { return *pipelines_; }

  // A device-level function (extension entry points).
  PFN_vkVoidFunction proc(const char* name) const;

  // Serializes vkQueueSubmit on the shared queue (Vulkan requires external sync on a queue).
  std::mutex& queue_mutex() { return queue_mutex_; }

  // A submission outlived the hang timeout (wait_fence): the device may still be running it, so
  // nothing it can touch (buffers, descriptor sets, command buffers, pipelines, the device) may
  // be destroyed or reused, and nothing more may be submitted. Destructors then leave their
  // objects to the process's end instead of freeing memory the device still writes.
  void mark_hung() { hung_ = true; }
  bool hung() const { return hung_; }

 private:
  Context() = default;

  DeviceRequest request_;
  std::shared_ptr<Instance> instance_;
  DeviceInfo info_;
  EnabledFeatures enabled_;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  std::mutex queue_mutex_;
  std::unique_ptr<MemoryAllocator> memory_;
  std::unique_ptr<PipelineCache> pipelines_;
  std::atomic<bool> hung_{false};
};

}  // namespace vkgraph::vk
