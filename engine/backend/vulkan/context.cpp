#include "engine/backend/vulkan/context.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "engine/backend/vulkan/device_select.h"
#include "engine/backend/vulkan/memory.h"
#include "engine/backend/vulkan/pipeline.h"
#include "engine/backend/vulkan/vk_check.h"
#include "engine/core/error.h"
#include "engine/core/log.h"

namespace vkgraph::vk {
namespace {

constexpr Feature kAllFeatures[] = {Feature::fp16,
                                    Feature::int8,
                                    Feature::storage_8bit,
                                    Feature::storage_16bit,
                                    Feature::integer_dot_product,
                                    Feature::subgroup_size_control,
                                    Feature::cooperative_matrix,
                                    Feature::timestamps};

}  // namespace

const char* feature_name(Feature feature) {
  switch (feature) {
    case Feature::fp16:
      return "fp16";
    case Feature::int8:
      return "int8";
    case Feature::storage_8bit:
      return "storage_8bit";
    case Feature::storage_16bit:
      return "storage_16bit";
    case Feature::integer_dot_product:
      return "integer_dot_product";
    case Feature::subgroup_size_control:
      return "subgroup_size_control";
    case Feature::cooperative_matrix:
      return "cooperative_matrix";
    case Feature::timestamps:
      return "timestamps";
  }
  return "unknown";
}

Feature parse_feature(std::string_view name) {
  std::string known;
  for (Feature f : kAllFeatures) {
    if (name == feature_name(f)) return f;
    known += fmt::format("{}{}", known.empty() ? "" : ", ", feature_name(f));
  }
  if (name == "coopmat") return Feature::cooperative_matrix;
  fail("unknown device feature '{}'; known features: {}", name, known);
}

bool device_has(const DeviceInfo& info, Feature feature) {
  switch (feature) {
    case Feature::fp16:
      return info.shader_float16;
    case Feature::int8:
      return info.shader_int8;
    case Feature::storage_8bit:
      return info.storage_buffer_8bit;
    case Feature::storage_16bit:
      return info.storage_buffer_16bit;
    case Feature::integer_dot_product:
      return info.integer_dot_product;
    case Feature::subgroup_size_control:
      return info.subgroup_size_control && info.compute_full_subgroups;
    case Feature::cooperative_matrix:
      return info.has_cooperative_matrix && info.has_extension(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
    case Feature::timestamps:
      return info.timestamps_usable();
  }
  return false;
}

std::shared_ptr<Context> Context::create(const DeviceRequest& request) {
  std::shared_ptr<Context> ctx(new Context());
  ctx->request_ = request;
  if (const char* env = std::getenv("VKGRAPH_FORCE_STAGING"); env && std::string_view(env) == "1") {
    ctx->request_.force_staging = true;
  }
  ctx->instance_ = std::make_shared<Instance>(InstanceOptions{request.validation});
  const Instance& instance = *ctx->instance_;

  std::vector<DeviceInfo> devices = probe_devices(instance);
  const size_t chosen = select_device(devices, effective_device_request(request.device));
  ctx->info_ = devices[chosen];
  const DeviceInfo& info = ctx->info_;
  ctx->physical_ = instance.physical_devices()[chosen];

  VKGRAPH_CHECK(info.api_version >= VK_API_VERSION_1_2, "device '{}' supports Vulkan {}; vkgraph needs 1.2 or newer",
                info.name, api_version_string(info.api_version));
  for (Feature f : request.required) ctx->require(f, "the request");

  const uint32_t api = std::min(info.api_version, instance.api_version());
  const bool v13 = api >= VK_API_VERSION_1_3;
  EnabledFeatures& on = ctx->enabled_;
  on.fp16 = info.shader_float16;
  on.int8 = info.shader_int8;
  on.int16 = info.shader_int16;
  on.int64 = info.shader_int64;
  on.storage_8bit = info.storage_buffer_8bit;
  on.storage_16bit = info.storage_buffer_16bit;
  on.integer_dot_product = info.integer_dot_product;
  on.subgroup_size_control = info.subgroup_size_control;
  on.compute_full_subgroups = info.compute_full_subgroups;
  on.cooperative_matrix = device_has(info, Feature::cooperative_matrix);
  on.vulkan_memory_model = info.vulkan_memory_model;
  on.vulkan_memory_model_device_scope = info.vulkan_memory_model && info.vulkan_memory_model_device_scope;

  std::vector<const char*> extensions;
  // The spec requires enabling VK_KHR_portability_subset whenever a device exposes it.
  if (info.has_extension("VK_KHR_portability_subset")) extensions.push_back("VK_KHR_portability_subset");
  if (on.cooperative_matrix) extensions.push_back(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
  if (!v13) {
    if (on.subgroup_size_control) extensions.push_back(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    if (on.integer_dot_product) extensions.push_back(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  }

  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.features.shaderInt16 = on.int16;
  features.features.shaderInt64 = on.int64;
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  f11.storageBuffer16BitAccess = on.storage_16bit;
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  f12.shaderFloat16 = on.fp16;
  f12.shaderInt8 = on.int8;
  f12.storageBuffer8BitAccess = on.storage_8bit;
  f12.vulkanMemoryModel = on.vulkan_memory_model;
  f12.vulkanMemoryModelDeviceScope = on.vulkan_memory_model_device_scope;
  VkPhysicalDeviceVulkan13Features f13{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
  f13.subgroupSizeControl = on.subgroup_size_control;
  f13.computeFullSubgroups = on.compute_full_subgroups;
  f13.shaderIntegerDotProduct = on.integer_dot_product;
  VkPhysicalDeviceSubgroupSizeControlFeaturesEXT f_size{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT};
  f_size.subgroupSizeControl = on.subgroup_size_control;
  f_size.computeFullSubgroups = on.compute_full_subgroups;
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR f_dot{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
  f_dot.shaderIntegerDotProduct = on.integer_dot_product;
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR f_coop{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
  f_coop.cooperativeMatrix = VK_TRUE;

  void** tail = &features.pNext;
  auto chain = [&tail](auto& s) {
    *tail = &s;
    tail = &s.pNext;
  };
  chain(f11);
  chain(f12);
  if (v13) {
    chain(f13);
  } else {
    if (on.subgroup_size_control) chain(f_size);
    if (on.integer_dot_product) chain(f_dot);
  }
  if (on.cooperative_matrix) chain(f_coop);

  ctx->queue_family_ = info.compute_queue_family;
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_info.queueFamilyIndex = ctx->queue_family_;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;

  VkDeviceCreateInfo device_info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  device_info.pNext = &features;
  device_info.queueCreateInfoCount = 1;
  device_info.pQueueCreateInfos = &queue_info;
  device_info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  device_info.ppEnabledExtensionNames = extensions.data();
  VkResult result = vkCreateDevice(ctx->physical_, &device_info, nullptr, &ctx->device_);
  VKGRAPH_CHECK(result == VK_SUCCESS, "vkCreateDevice failed on device '{}': {}", info.name, result_name(result));
  vkGetDeviceQueue(ctx->device_, ctx->queue_family_, 0, &ctx->queue_);

  ctx->memory_ = std::make_unique<MemoryAllocator>(*ctx);
  ctx->pipelines_ = std::make_unique<PipelineCache>(*ctx);
  log::debug("vulkan: using device {} '{}' ({}, driver {} {})", chosen, info.name, device_type_name(info.type),
             info.driver_name, info.driver_version);
  return ctx;
}

Context::~Context() {
  if (hung_) {
    // Waiting for the device could block forever and destroying under a running submission is
    // undefined (on lavapipe a crash in its worker threads): keep the instance, device, memory
    // and pipelines alive, reachable, until the process ends.
    struct Abandoned {
      std::shared_ptr<Instance> instance;
      std::unique_ptr<MemoryAllocator> memory;
      std::unique_ptr<PipelineCache> pipelines;
    };
    static auto* abandoned = new std::vector<Abandoned>;  // never freed, on purpose
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    abandoned->push_back({std::move(instance_), std::move(memory_), std::move(pipelines_)});
    log::warn("vulkan: device '{}' timed out; its objects are left to the end of the process", info_.name);
    return;
  }
  if (device_ != VK_NULL_HANDLE) vkDeviceWaitIdle(device_);
  pipelines_.reset();  // saves the on-disk cache
  memory_.reset();
  if (device_ != VK_NULL_HANDLE) vkDestroyDevice(device_, nullptr);
}

bool Context::has(Feature feature) const {
  switch (feature) {
    case Feature::fp16:
      return enabled_.fp16;
    case Feature::int8:
      return enabled_.int8;
    case Feature::storage_8bit:
      return enabled_.storage_8bit;
    case Feature::storage_16bit:
      return enabled_.storage_16bit;
    case Feature::integer_dot_product:
      return enabled_.integer_dot_product;
    case Feature::subgroup_size_control:
      return enabled_.subgroup_size_control && enabled_.compute_full_subgroups;
    case Feature::cooperative_matrix:
      return enabled_.cooperative_matrix;
    case Feature::timestamps:
      return info_.timestamps_usable();
  }
  return false;
}

void Context::require(Feature feature, std::string_view what) const {
  // Before the device exists (creation checks), what the device offers is what we would enable.
  const bool present = device_ != VK_NULL_HANDLE ? has(feature) : device_has(info_, feature);
  if (present) return;
  fail("device '{}' (driver {} {}) lacks the feature {}{}{}", info_.name, info_.driver_name, info_.driver_version,
       feature_name(feature), what.empty() ? "" : ", needed by ", what);
}

void Context::require(const KernelRequirements& req, std::string_view kernel) const {
  std::string why;
  if (!device_supports(info_, req, &why)) fail("kernel {} cannot run: {}", kernel, why);
}

PFN_vkVoidFunction Context::proc(const char* name) const { return vkGetDeviceProcAddr(device_, name); }

}  // namespace vkgraph::vk
