#include "cli/cmd_devices_json.h"

namespace vkgraph::cli {

nlohmann::json device_json(const vk::DeviceInfo& d) {
  using nlohmann::json;
  json j;
  j["backend"] = "vulkan";
  j["available"] = true;
  j["index"] = d.index;
  j["name"] = d.name;
  j["type"] = vk::device_type_name(d.type);
  j["vendor_id"] = d.vendor_id;
  j["vendor"] = d.vendor_name;
  j["device_id"] = d.device_id;
  j["driver"] = {{"name", d.driver_name},
                 {"info", d.driver_info},
                 {"id", static_cast<int>(d.driver_id)},
                 {"version", d.driver_version},
                 {"version_raw", d.driver_version_raw}};
  j["api_version"] = vk::api_version_string(d.api_version);
  j["pci_bus_id"] = d.has_pci_bus_info ? json(d.pci_bus_id) : json(nullptr);
  j["subgroup"] = {
      {"size", d.subgroup_size},
      {"size_control", d.subgroup_size_control},
      {"min_size", d.min_subgroup_size},
      {"max_size", d.max_subgroup_size},
      {"compute_full_subgroups", d.compute_full_subgroups},
      {"operations", d.subgroup_ops_in_compute ? vk::subgroup_op_names(d.subgroup_ops) : std::vector<std::string>{}}};
  j["limits"] = {
      {"max_shared_memory", d.max_shared_memory},
      {"max_workgroup_size", {d.max_workgroup_size[0], d.max_workgroup_size[1], d.max_workgroup_size[2]}},
      {"max_workgroup_count", {d.max_workgroup_count[0], d.max_workgroup_count[1], d.max_workgroup_count[2]}},
      {"max_workgroup_invocations", d.max_workgroup_invocations},
      {"max_storage_buffer_range", d.max_storage_buffer_range},
      {"max_memory_allocation_size", d.max_memory_allocation_size},
      {"max_buffer_size", d.max_buffer_size},
      {"max_push_constants_size", d.max_push_constants_size},
      {"min_storage_buffer_offset_alignment", d.min_storage_buffer_offset_alignment},
      {"max_storage_buffers_per_stage", d.max_storage_buffers_per_stage}};
  json heaps = json::array();
  for (const vk::MemoryHeapInfo& h : d.memory_heaps)
    heaps.push_back({{"size", h.size}, {"device_local", h.device_local}});
  json types = json::array();
  for (const vk::MemoryTypeInfo& t : d.memory_types) {
    types.push_back({{"heap", t.heap},
                     {"device_local", (t.flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) != 0},
                     {"host_visible", (t.flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0},
                     {"host_coherent", (t.flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0},
                     {"host_cached", (t.flags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) != 0}});
  }
  j["memory"] = {{"heaps", heaps}, {"types", types}};
  j["features"] = {{"fp16", d.shader_float16},
                   {"int8", d.shader_int8},
                   {"int16", d.shader_int16},
                   {"int64", d.shader_int64},
                   {"storage_8bit", d.storage_buffer_8bit},
                   {"storage_16bit", d.storage_buffer_16bit},
                   {"integer_dot_product", d.integer_dot_product},
                   {"int8_dot_accelerated", d.int8_dot_accelerated},
                   {"vulkan_memory_model", d.vulkan_memory_model}};
  json shapes = json::array();
  for (const vk::CoopMatShape& s : d.coopmat_shapes) {
    shapes.push_back({{"m", s.m},
                      {"n", s.n},
                      {"k", s.k},
                      {"a", vk::component_type_name(s.a)},
                      {"b", vk::component_type_name(s.b)},
                      {"c", vk::component_type_name(s.c)},
                      {"result", vk::component_type_name(s.result)},
                      {"scope", vk::scope_name(s.scope)},
                      {"saturating", s.saturating_accumulation}});
  }
  j["cooperative_matrix"] = {
      {"supported", d.has_cooperative_matrix}, {"emulated", d.coopmat_emulated}, {"shapes", shapes}};
  j["timestamps"] = {{"supported", d.timestamps_usable()},
                     {"period_ns", d.timestamp_period_ns},
                     {"compute_and_graphics", d.timestamp_compute_and_graphics},
                     {"valid_bits", d.timestamp_valid_bits}};
  j["compute_queue_family"] = d.compute_queue_family;
  j["extensions"] = d.extensions;
  return j;
}

nlohmann::json record_json(const DeviceRecord& d) {
  using nlohmann::json;
  json j;
  j["backend"] = d.backend;
  j["available"] = d.available;
  if (d.available) {
    j["index"] = d.index;
    j["name"] = d.name;
    j["memory_bytes"] = d.memory_bytes;
    j["pci_bus_id"] = d.pci_bus_id.empty() ? json(nullptr) : json(d.pci_bus_id);
    j["default"] = d.is_default;
  } else {
    j["reason"] = d.reason;
  }
  for (const DeviceProperty& p : d.properties) {
    j[p.key] = p.value == "yes" ? json(true) : p.value == "no" ? json(false) : json(p.value);
  }
  return j;
}

}  // namespace vkgraph::cli
