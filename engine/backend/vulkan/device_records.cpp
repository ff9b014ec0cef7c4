#include "engine/backend/vulkan/device_records.h"

#include <fmt/format.h>

#include "engine/backend/vulkan/device_select.h"
#include "engine/backend/vulkan/instance.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

const char* yes_no(bool b) { return b ? "yes" : "no"; }

std::vector<DeviceInfo> probe_all() {
  Instance instance;
  return probe_devices(instance);
}

}  // namespace

DeviceRecord vulkan_device_record(const DeviceInfo& info, bool is_default) {
  DeviceRecord r;
  r.backend = "vulkan";
  r.index = info.index;
  r.name = info.name;
  r.memory_bytes = info.device_local_bytes();
  r.pci_bus_id = info.has_pci_bus_info ? info.pci_bus_id : std::string();
  r.is_default = is_default;
  r.properties = {
      {"type", device_type_name(info.type)},
      {"vendor", info.vendor_name},
      {"driver", info.driver_name},
      {"driver_version", info.driver_version},
      {"driver_info", info.driver_info},
      {"api_version", api_version_string(info.api_version)},
      {"subgroup_size", std::to_string(info.subgroup_size)},
      {"shared_memory", std::to_string(info.max_shared_memory)},
      {"fp16", yes_no(info.shader_float16)},
      {"int8_dot_accelerated", yes_no(info.integer_dot_product && info.int8_dot_accelerated)},
      {"cooperative_matrix", yes_no(info.has_cooperative_matrix)},
      {"timestamps", yes_no(info.timestamps_usable())},
  };
  return r;
}

std::vector<DeviceRecord> list_vulkan_devices() {
  std::vector<DeviceInfo> devices;
  try {
    devices = probe_all();
  } catch (const Error& e) {
    DeviceRecord none;
    none.backend = "vulkan";
    none.available = false;
    none.reason = e.what();
    return {none};
  }
  if (devices.empty()) {
    DeviceRecord none;
    none.backend = "vulkan";
    none.available = false;
    none.reason = "no Vulkan device (the loader found no physical device)";
    return {none};
  }
  // The device a backend created without a selector would use (VKGRAPH_DEVICE, else the best GPU).
  size_t chosen = devices.size();
  try {
    chosen = select_device(devices, effective_device_request(""));
  } catch (const Error&) {
    // VKGRAPH_DEVICE names no device: none is the default (creating the backend says why).
  }
  std::vector<DeviceRecord> out;
  for (size_t i = 0; i < devices.size(); ++i) out.push_back(vulkan_device_record(devices[i], i == chosen));
  return out;
}

std::string describe_vulkan_device(uint32_t index) {
  for (const DeviceInfo& d : probe_all()) {
    if (d.index == index) return describe(d);
  }
  fail("no Vulkan device {}", index);
}

}  // namespace vkgraph::vk
