#pragma once
// The capability probe of one physical device: what matters for compute kernels and for the
// `vkgraph devices` report. Filled by probe_devices(); tests also build fake ones by hand to
// exercise kernel selection for hardware this machine lacks.

#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vkgraph::vk {

class Instance;

struct MemoryHeapInfo {
  uint64_t size = 0;
  bool device_local = false;
};

struct MemoryTypeInfo {
  uint32_t heap = 0;
  VkMemoryPropertyFlags flags = 0;  // VK_MEMORY_PROPERTY_*
};

// One entry of vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR: D[MxN] = A[MxK] * B[KxN] + C.
struct CoopMatShape {
  uint32_t m = 0, n = 0, k = 0;
  VkComponentTypeKHR a = VK_COMPONENT_TYPE_FLOAT16_KHR;
  VkComponentTypeKHR b = VK_COMPONENT_TYPE_FLOAT16_KHR;
  VkComponentTypeKHR c = VK_COMPONENT_TYPE_FLOAT32_KHR;
  VkComponentTypeKHR result = VK_COMPONENT_TYPE_FLOAT32_KHR;
  VkScopeKHR scope = VK_SCOPE_SUBGROUP_KHR;
  bool saturating_accumulation = false;
};

struct DeviceInfo {
  uint32_t index = 0;  // position in vkEnumeratePhysicalDevices order
  std::string name;
  uint32_t vendor_id = 0;
  std::string vendor_name;  // "NVIDIA", "AMD", "Intel", "Mesa" (lavapipe) ...
  uint32_t device_id = 0;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  std::string driver_name;  // VkPhysicalDeviceDriverProperties::driverName
  std::string driver_info;  // VkPhysicalDeviceDriverProperties::driverInfo
  VkDriverId driver_id = VkDriverId(0);
  uint32_t driver_version_raw = 0;
  std::string driver_version;  // decoded per vendor (NVIDIA 10.8.8.6, Intel Windows 14.18, else Vulkan-style)
  uint32_t api_version = 0;
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE] = {};
  bool has_pci_bus_info = false;
  std::string pci_bus_id;  // "0000:01:00.0" when VK_EXT_pci_bus_info is present

  // Subgroups.
  uint32_t subgroup_size = 0;
  bool subgroup_size_control = false;  // VK_EXT_subgroup_size_control / 1.3
  uint32_t min_subgroup_size = 0;
  uint32_t max_subgroup_size = 0;
  bool compute_full_subgroups = false;
  VkSubgroupFeatureFlags subgroup_ops = 0;  // in compute shaders (VK_SUBGROUP_FEATURE_*)
  bool subgroup_ops_in_compute = false;     // supportedStages includes COMPUTE

  // Limits.
  uint32_t max_shared_memory = 0;           // maxComputeSharedMemorySize
  uint32_t max_workgroup_size[3] = {};      // maxComputeWorkGroupSize
  uint32_t max_workgroup_count[3] = {};     // maxComputeWorkGroupCount
  uint32_t max_workgroup_invocations = 0;   // maxComputeWorkGroupInvocations
  uint64_t max_storage_buffer_range = 0;    // maxStorageBufferRange
  uint64_t max_memory_allocation_size = 0;  // maxMemoryAllocationSize (1.1)
  uint64_t max_buffer_size = 0;             // maxBufferSize (1.3 maintenance4), 0 if unknown
  uint32_t max_push_constants_size = 0;
  uint64_t min_storage_buffer_offset_alignment = 0;
  uint64_t max_uniform_buffer_range = 0;             // maxUniformBufferRange
  uint64_t min_uniform_buffer_offset_alignment = 0;  // minUniformBufferOffsetAlignment
  uint32_t max_bound_descriptor_sets = 0;
  uint32_t max_storage_buffers_per_stage = 0;

  std::vector<MemoryHeapInfo> memory_heaps;
  std::vector<MemoryTypeInfo> memory_types;

  // Arithmetic and storage features (what the device supports; Context enables all of them).
  bool shader_float16 = false;
  bool shader_int8 = false;
  bool shader_int16 = false;
  bool shader_int64 = false;
  bool storage_buffer_8bit = false;   // storageBuffer8BitAccess
  bool storage_buffer_16bit = false;  // storageBuffer16BitAccess
  bool integer_dot_product = false;   // shaderIntegerDotProduct (1.3 / VK_KHR_shader_integer_dot_product)
  bool int8_dot_accelerated = false;  // integerDotProduct4x8BitPackedSignedAccelerated
  bool vulkan_memory_model = false;
  bool vulkan_memory_model_device_scope = false;  // vulkanMemoryModelDeviceScope
  bool buffer_device_address = false;

  // Cooperative matrix (VK_KHR_cooperative_matrix).
  bool has_cooperative_matrix = false;  // extension present and feature cooperativeMatrix set
  // Or none, but VKGRAPH_EMULATE_COOPMAT lists shapes to emulate (device_coopmat.h): then
  // coopmat_shapes are those and only COOPMAT_EMULATED kernels use them.
  bool coopmat_emulated = false;
  std::vector<CoopMatShape> coopmat_shapes;

  // Timestamps.
  float timestamp_period_ns = 0.0f;  // VkPhysicalDeviceLimits::timestampPeriod
  bool timestamp_compute_and_graphics = false;
  uint32_t timestamp_valid_bits = 0;  // of the compute queue family chosen below
  uint32_t compute_queue_family = 0;  // a family with COMPUTE (compute-only preferred)

  std::vector<std::string> extensions;  // device extensions, sorted

  bool is_cpu() const { return type == VK_PHYSICAL_DEVICE_TYPE_CPU; }
  bool has_extension(const std::string& ext) const;
  bool timestamps_usable() const { return timestamp_valid_bits > 0 && timestamp_period_ns > 0.0f; }
  uint64_t device_local_bytes() const;  // sum of device-local heaps
};

// Probes every physical device of the instance, in enumeration order.
std::vector<DeviceInfo> probe_devices(const Instance& instance);
// Probes one device (index is recorded as given).
DeviceInfo probe_device(const Instance& instance, VkPhysicalDevice device, uint32_t index);

// Names for reports and JSON.
const char* device_type_name(VkPhysicalDeviceType type);                 // "discrete-gpu", "cpu", ...
const char* component_type_name(VkComponentTypeKHR type);                // "f16", "f32", "i8", ...
const char* scope_name(VkScopeKHR scope);                                // "subgroup", "workgroup", ...
std::vector<std::string> subgroup_op_names(VkSubgroupFeatureFlags ops);  // "basic", "arithmetic", ...
std::string api_version_string(uint32_t version);                        // "1.3.275"
std::string vendor_name_of(uint32_t vendor_id);
std::string decode_driver_version(uint32_t vendor_id, uint32_t raw);
// Same, knowing the driver (Intel's Windows driver packs its version differently from Mesa).
std::string decode_driver_version(uint32_t vendor_id, VkDriverId driver, uint32_t raw);
std::string format_bytes(uint64_t bytes);  // "32 KiB", "1.5 GiB"

// A block of text for a person (`vkgraph devices`), one "key: value" line each.
std::string describe(const DeviceInfo& info);

}  // namespace vkgraph::vk
