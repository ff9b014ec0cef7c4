#include "engine/backend/vulkan/device_info.h"

#include <algorithm>
#include <cstring>

#include "engine/backend/vulkan/device_coopmat.h"
#include "engine/backend/vulkan/device_limits.h"
#include "engine/backend/vulkan/instance.h"
#include "engine/backend/vulkan/vk_check.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

std::vector<std::string> device_extensions(VkPhysicalDevice device) {
  uint32_t count = 0;
  vk_check(vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr),
           "vkEnumerateDeviceExtensionProperties");
  std::vector<VkExtensionProperties> props(count);
  vk_check(vkEnumerateDeviceExtensionProperties(device, nullptr, &count, props.data()),
           "vkEnumerateDeviceExtensionProperties");
  std::vector<std::string> names;
  for (const VkExtensionProperties& p : props) names.emplace_back(p.extensionName);
  std::sort(names.begin(), names.end());
  return names;
}

// A compute queue family: a compute-only family (async compute on discrete GPUs) if there is
// one, else the first with compute.
uint32_t pick_compute_family(const std::vector<VkQueueFamilyProperties>& families, bool* found) {
  *found = false;
  uint32_t any = 0;
  for (uint32_t i = 0; i < families.size(); ++i) {
    const VkQueueFlags flags = families[i].queueFlags;
    if (!(flags & VK_QUEUE_COMPUTE_BIT)) continue;
    if (!*found) any = i;
    *found = true;
    if (!(flags & VK_QUEUE_GRAPHICS_BIT)) return i;
  }
  return any;
}

void probe_coopmat(const Instance& instance, VkPhysicalDevice device, DeviceInfo& info) {
  auto get_props = instance.get<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR>(
      "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
  if (get_props == nullptr) return;
  uint32_t count = 0;
  if (get_props(device, &count, nullptr) != VK_SUCCESS) return;
  std::vector<VkCooperativeMatrixPropertiesKHR> props(count, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR});
  if (get_props(device, &count, props.data()) != VK_SUCCESS) return;
  for (uint32_t i = 0; i < count; ++i) {
    const VkCooperativeMatrixPropertiesKHR& p = props[i];
    info.coopmat_shapes.push_back({p.MSize, p.NSize, p.KSize, p.AType, p.BType, p.CType, p.ResultType, p.scope,
                                   p.saturatingAccumulation == VK_TRUE});
  }
}

}  // namespace

bool DeviceInfo::has_extension(const std::string& ext) const {
  return std::binary_search(extensions.begin(), extensions.end(), ext);
}

uint64_t DeviceInfo::device_local_bytes() const {
  uint64_t total = 0;
  for (const MemoryHeapInfo& heap : memory_heaps) {
    if (heap.device_local) total += heap.size;
  }
  return total;
}

DeviceInfo probe_device(const Instance& instance, VkPhysicalDevice device, uint32_t index) {
  DeviceInfo info;
  info.index = index;
  info.extensions = device_extensions(device);

  VkPhysicalDeviceProperties base{};
  vkGetPhysicalDeviceProperties(device, &base);
  info.api_version = base.apiVersion;
  // What we may use: the lower of the device's version and the instance's.
  const uint32_t api = std::min(base.apiVersion, instance.api_version());
  const bool v12 = api >= VK_API_VERSION_1_2;
  const bool v13 = api >= VK_API_VERSION_1_3;
  const bool ext_size_control = info.has_extension(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
  const bool ext_dot = info.has_extension(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  const bool ext_pci = info.has_extension(VK_EXT_PCI_BUS_INFO_EXTENSION_NAME);
  const bool ext_coopmat = info.has_extension(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);

  // Properties: each struct is chained only when the version or extension defining it is
  // available, so the validation layer sees only legal chains.
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  VkPhysicalDeviceVulkan11Properties p11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES};
  VkPhysicalDeviceVulkan12Properties p12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES};
  VkPhysicalDeviceVulkan13Properties p13{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_PROPERTIES};
  VkPhysicalDeviceSubgroupSizeControlPropertiesEXT p_size{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT};
  VkPhysicalDeviceShaderIntegerDotProductPropertiesKHR p_dot{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES_KHR};
  VkPhysicalDevicePCIBusInfoPropertiesEXT p_pci{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PCI_BUS_INFO_PROPERTIES_EXT};
  VkPhysicalDeviceMaintenance3Properties p_m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties p_sub{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  void** tail = &props.pNext;
  auto chain = [&tail](auto& s) {
    *tail = &s;
    tail = &s.pNext;
  };
  if (v12) {
    chain(p11);
    chain(p12);
  } else {
    chain(p_sub);
    chain(p_m3);
  }
  if (v13) {
    chain(p13);
  } else {
    if (ext_size_control) chain(p_size);
    if (ext_dot) chain(p_dot);
  }
  if (ext_pci) chain(p_pci);
  vkGetPhysicalDeviceProperties2(device, &props);

  info.name = base.deviceName;
  info.vendor_id = base.vendorID;
  info.vendor_name = vendor_name_of(base.vendorID);
  info.device_id = base.deviceID;
  info.type = base.deviceType;
  info.driver_version_raw = base.driverVersion;
  std::memcpy(info.pipeline_cache_uuid, base.pipelineCacheUUID, VK_UUID_SIZE);

  const VkPhysicalDeviceLimits& lim = base.limits;
  info.max_shared_memory = lim.maxComputeSharedMemorySize;
  for (int i = 0; i < 3; ++i) {
    info.max_workgroup_size[i] = lim.maxComputeWorkGroupSize[i];
    info.max_workgroup_count[i] = lim.maxComputeWorkGroupCount[i];
  }
  info.max_workgroup_invocations = lim.maxComputeWorkGroupInvocations;
  info.max_storage_buffer_range = lim.maxStorageBufferRange;
  info.max_push_constants_size = lim.maxPushConstantsSize;
  info.min_storage_buffer_offset_alignment = lim.minStorageBufferOffsetAlignment;
  info.max_uniform_buffer_range = lim.maxUniformBufferRange;
  info.min_uniform_buffer_offset_alignment = lim.minUniformBufferOffsetAlignment;
  info.max_bound_descriptor_sets = lim.maxBoundDescriptorSets;
  info.max_storage_buffers_per_stage = lim.maxPerStageDescriptorStorageBuffers;
  info.timestamp_period_ns = lim.timestampPeriod;
  info.timestamp_compute_and_graphics = lim.timestampComputeAndGraphics == VK_TRUE;

  if (v12) {
    info.subgroup_size = p11.subgroupSize;
    info.subgroup_ops = p11.subgroupSupportedOperations;
    info.subgroup_ops_in_compute = (p11.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
    info.max_memory_allocation_size = p11.maxMemoryAllocationSize;
    info.driver_id = p12.driverID;
    info.driver_name = p12.driverName;
    info.driver_info = p12.driverInfo;
  } else {
    info.subgroup_size = p_sub.subgroupSize;
    info.subgroup_ops = p_sub.supportedOperations;
    info.subgroup_ops_in_compute = (p_sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
    info.max_memory_allocation_size = p_m3.maxMemoryAllocationSize;
  }
  info.driver_version = decode_driver_version(base.vendorID, info.driver_id, base.driverVersion);
  info.min_subgroup_size = info.max_subgroup_size = info.subgroup_size;
  bool dot_props = false;
  if (v13) {
    info.min_subgroup_size = p13.minSubgroupSize;
    info.max_subgroup_size = p13.maxSubgroupSize;
    info.int8_dot_accelerated = p13.integerDotProduct4x8BitPackedSignedAccelerated == VK_TRUE;
    dot_props = true;
  } else {
    if (ext_size_control) {
      info.min_subgroup_size = p_size.minSubgroupSize;
      info.max_subgroup_size = p_size.maxSubgroupSize;
    }
    if (ext_dot) {
      info.int8_dot_accelerated = p_dot.integerDotProduct4x8BitPackedSignedAccelerated == VK_TRUE;
      dot_props = true;
    }
  }
  if (ext_pci) {
    info.has_pci_bus_info = true;
    info.pci_bus_id =
        fmt::format("{:04x}:{:02x}:{:02x}.{:x}", p_pci.pciDomain, p_pci.pciBus, p_pci.pciDevice, p_pci.pciFunction);
  }

  // Features.
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan13Features f13{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
  VkPhysicalDeviceSubgroupSizeControlFeaturesEXT f_size{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT};
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR f_dot{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR f_coop{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
  tail = &features.pNext;
  if (v12) {
    chain(f11);
    chain(f12);
  }
  if (v13) {
    chain(f13);
  } else {
    if (ext_size_control) chain(f_size);
    if (ext_dot) chain(f_dot);
  }
  if (ext_coopmat) chain(f_coop);
  vkGetPhysicalDeviceFeatures2(device, &features);

  info.shader_int16 = features.features.shaderInt16 == VK_TRUE;
  info.shader_int64 = features.features.shaderInt64 == VK_TRUE;
  if (v12) {
    info.storage_buffer_16bit = f11.storageBuffer16BitAccess == VK_TRUE;
    info.shader_float16 = f12.shaderFloat16 == VK_TRUE;
    info.shader_int8 = f12.shaderInt8 == VK_TRUE;
    info.storage_buffer_8bit = f12.storageBuffer8BitAccess == VK_TRUE;
    info.vulkan_memory_model = f12.vulkanMemoryModel == VK_TRUE;
    info.vulkan_memory_model_device_scope = f12.vulkanMemoryModelDeviceScope == VK_TRUE;
    info.buffer_device_address = f12.bufferDeviceAddress == VK_TRUE;
  }
  if (v13) {
    info.subgroup_size_control = f13.subgroupSizeControl == VK_TRUE;
    info.compute_full_subgroups = f13.computeFullSubgroups == VK_TRUE;
    info.integer_dot_product = f13.shaderIntegerDotProduct == VK_TRUE;
    info.max_buffer_size = p13.maxBufferSize;
  } else {
    info.subgroup_size_control = ext_size_control && f_size.subgroupSizeControl == VK_TRUE;
    info.compute_full_subgroups = ext_size_control && f_size.computeFullSubgroups == VK_TRUE;
    info.integer_dot_product = ext_dot && f_dot.shaderIntegerDotProduct == VK_TRUE;
  }
  if (!dot_props || !info.integer_dot_product) info.int8_dot_accelerated = false;
  if (!info.subgroup_size_control) info.min_subgroup_size = info.max_subgroup_size = info.subgroup_size;
  info.has_cooperative_matrix = ext_coopmat && f_coop.cooperativeMatrix == VK_TRUE;
  if (info.has_cooperative_matrix) probe_coopmat(instance, device, info);

  // Memory.
  VkPhysicalDeviceMemoryProperties mem{};
  vkGetPhysicalDeviceMemoryProperties(device, &mem);
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i) {
    info.memory_heaps.push_back(
        {mem.memoryHeaps[i].size, (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});
  }
  for (uint32_t i = 0; i < mem.memoryTypeCount; ++i) {
    info.memory_types.push_back({mem.memoryTypes[i].heapIndex, mem.memoryTypes[i].propertyFlags});
  }

  // Queues: timestamps are valid only when the chosen family reports valid bits.
  uint32_t family_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &family_count, families.data());
  bool found = false;
  info.compute_queue_family = pick_compute_family(families, &found);
  info.timestamp_valid_bits = found ? families[info.compute_queue_family].timestampValidBits : 0;
  apply_limit_overrides(info);      // VKGRAPH_LIMIT_* (device_limits.h)
  apply_coopmat_environment(info);  // VKGRAPH_EMULATE_COOPMAT, VKGRAPH_DISABLE_COOPMAT (device_coopmat.h)
  return info;
}

std::vector<DeviceInfo> probe_devices(const Instance& instance) {
  std::vector<DeviceInfo> out;
  std::vector<VkPhysicalDevice> devices = instance.physical_devices();
  for (uint32_t i = 0; i < devices.size(); ++i) out.push_back(probe_device(instance, devices[i], i));
  return out;
}

}  // namespace vkgraph::vk
