// `vkgraph devices [--json]`: every device of every backend, from the engine's registry: each
// Vulkan device with the capability probe that matters for compute, then the CUDA devices (or
// why CUDA is unavailable) and the CPU, with PCI bus ids so a GPU seen by two backends is
// recognizable. With --device (and --require) it shows the one Vulkan device a command would
// use and fails like that command would.
//
// The one command that reads a backend's own headers: the full Vulkan probe (limits, memory
// types, cooperative-matrix shapes) goes beyond the registry's generic record.
#include <cstdio>
#include <memory>

#include "cli/cmd_devices_json.h"
#include "cli/command.h"
#include "engine/backend/registry.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/device_info.h"
#include "engine/backend/vulkan/device_select.h"
#include "engine/backend/vulkan/instance.h"
#include "engine/core/error.h"
#include "engine/core/version.h"

namespace vkgraph::cli {
namespace {

struct DevicesOptions {
  bool json = false;
  std::string device;                 // a Vulkan device: index or name substring
  std::vector<std::string> required;  // feature names (vk::feature_name)
  bool validation = false;
};

// The devices of the other backends (after Vulkan's), from the registry.
std::vector<DeviceRecord> other_devices() {
  std::vector<DeviceRecord> out;
  for (const DeviceRecord& d : list_devices()) {
    if (d.backend != "vulkan") out.push_back(d);
  }
  return out;
}

// The Vulkan device that reports the same PCI bus id (VK_EXT_pci_bus_info): the same GPU.
const vk::DeviceInfo* vulkan_twin(const std::vector<vk::DeviceInfo>& devices, const std::string& pci_bus_id) {
  if (pci_bus_id.empty()) return nullptr;
  for (const vk::DeviceInfo& d : devices) {
    if (d.has_pci_bus_info && d.pci_bus_id == pci_bus_id) return &d;
  }
  return nullptr;
}

int run_devices(const DevicesOptions& options) {
  vk::DeviceRequest request;
  request.device = options.device;
  request.validation = options.validation;
  for (const std::string& name : options.required) request.required.push_back(vk::parse_feature(name));
  vk::Instance instance(vk::InstanceOptions{request.validation});
  std::vector<vk::DeviceInfo> devices = vk::probe_devices(instance);
  // The device the other commands would pick (throws for an unknown --device).
  const size_t chosen = vk::select_device(devices, vk::effective_device_request(request.device));
  if (!options.device.empty() || !request.required.empty()) {
    for (vk::Feature f : request.required) {
      if (!vk::device_has(devices[chosen], f)) {
        fail("device '{}' lacks the feature {} (asked for with --require)", devices[chosen].name, vk::feature_name(f));
      }
    }
  }
  const uint32_t chosen_index = devices[chosen].index;
  if (!options.device.empty()) devices = {devices[chosen]};

  // The other backends are listed unless one Vulkan device was asked for.
  const std::vector<DeviceRecord> others = options.device.empty() ? other_devices() : std::vector<DeviceRecord>{};
  if (options.json) {
    // One array: Vulkan devices, then the other backends' ("backend" tells them apart).
    nlohmann::json out = nlohmann::json::array();
    for (const vk::DeviceInfo& d : devices) {
      nlohmann::json j = device_json(d);
      j["default"] = d.index == chosen_index;
      out.push_back(std::move(j));
    }
    for (const DeviceRecord& d : others) {
      nlohmann::json j = record_json(d);
      if (d.available && d.backend != "cpu") {
        const vk::DeviceInfo* twin = vulkan_twin(devices, d.pci_bus_id);
        j["vulkan_device"] = twin == nullptr ? nlohmann::json(nullptr) : nlohmann::json(twin->index);
      }
      out.push_back(std::move(j));
    }
    // The build is in each object so a saved file says what produced it.
    for (auto& j : out) j["vkgraph"] = {{"version", vkgraph::version()}, {"commit", vkgraph::git_commit()}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("vkgraph %s (%s), Vulkan instance %s%s\n\n", vkgraph::version(), vkgraph::git_commit(),
              vk::api_version_string(instance.api_version()).c_str(),
              instance.validation_enabled() ? ", validation on" : "");
  for (const vk::DeviceInfo& d : devices) {
    std::string text = vk::describe(d);
    if (d.index == chosen_index) text.insert(text.find('\n'), "  [default]");
    std::printf("%s\n", text.c_str());
  }
  for (const DeviceRecord& d : others) {
    std::string text = describe_device(d);
    if (const vk::DeviceInfo* twin = vulkan_twin(devices, d.pci_bus_id)) {
      text += fmt::format("  {:<22}the same GPU as vulkan device {}\n", "", twin->index);
    }
    std::printf("%s\n", text.c_str());
  }
  return 0;
}

const CommandRegistration registration{
    "devices", "List every backend's devices: Vulkan with the capabilities that matter for compute, CUDA, the CPU",
    [](CLI::App& app) {
      auto options = std::make_shared<DevicesOptions>();
      app.add_flag("--json", options->json, "print a JSON array of device objects");
      app.add_option(
          "--device", options->device,
          "show only this Vulkan device: index or case-insensitive name substring (default: VKGRAPH_DEVICE, else "
          "the best GPU)");
      app.add_option("--require", options->required,
                     "fail unless the device has these features (fp16, int8, storage_8bit, storage_16bit, "
                     "integer_dot_product, subgroup_size_control, cooperative_matrix, timestamps)");
      app.add_flag("--validation", options->validation,
                   "enable the Khronos validation layer (also VKGRAPH_VALIDATION=1)");
      return [options] { return run_devices(*options); };
    }};

}  // namespace
}  // namespace vkgraph::cli
