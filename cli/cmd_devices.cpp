// `vkgraph devices [--json]`: the capability probe of every Vulkan device, for a person or a
// program, and the CUDA devices beside them (or why CUDA is unavailable), with PCI bus ids so a
// GPU seen by both is recognizable. With --device (and --require) it shows the one Vulkan device
// a command would use and fails like that command would.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/device_json.h"
#include "cli/device_options.h"
#include "engine/backend/cuda/cuda_backend.h"
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
  DeviceOptions device;
};

// The Vulkan device that reports the same PCI bus id (VK_EXT_pci_bus_info): the same GPU.
const vk::DeviceInfo* vulkan_twin(const std::vector<vk::DeviceInfo>& devices, const std::string& pci_bus_id) {
  for (const vk::DeviceInfo& d : devices) {
    if (d.has_pci_bus_info && d.pci_bus_id == pci_bus_id) return &d;
  }
  return nullptr;
}

std::string describe_cuda(const cuda::CudaProbe& probe, const std::vector<vk::DeviceInfo>& vulkan) {
  if (!probe.available) return fmt::format("CUDA: unavailable ({})\n", probe.reason);
  std::string out =
      fmt::format("CUDA: runtime {}.{}, driver {}.{}\n", probe.runtime_version / 1000,
                  probe.runtime_version % 1000 / 10, probe.driver_version / 1000, probe.driver_version % 1000 / 10);
  for (const cuda::CudaDeviceInfo& d : probe.devices) {
    const vk::DeviceInfo* twin = vulkan_twin(vulkan, d.pci_bus_id);
    out += fmt::format("cuda device {}: {}\n", d.index, d.name);
    out += fmt::format("  {:<22}{}.{} ({}), {} multiprocessors\n", "compute capability", d.compute_major,
                       d.compute_minor, cuda::sm_name(d), d.multiprocessors);
    out += fmt::format("  {:<22}{} MiB\n", "memory", d.memory_bytes >> 20);
    out += fmt::format("  {:<22}{}{}\n", "pci bus", d.pci_bus_id,
                       twin == nullptr ? "" : fmt::format(" (the same GPU as vulkan device {})", twin->index));
  }
  return out;
}

int run_devices(const DevicesOptions& options) {
  const vk::DeviceRequest request = device_request(options.device);
  vk::Instance instance(vk::InstanceOptions{request.validation});
  std::vector<vk::DeviceInfo> devices = vk::probe_devices(instance);
  const std::string chosen_request = vk::effective_device_request(request.device);
  // The device the other commands would pick (throws for an unknown --device).
  const size_t chosen = vk::select_device(devices, chosen_request);
  if (!options.device.device.empty() || !request.required.empty()) {
    for (vk::Feature f : request.required) {
      if (!vk::device_has(devices[chosen], f)) {
        fail("device '{}' lacks the feature {} (asked for with --require)", devices[chosen].name, vk::feature_name(f));
      }
    }
  }
  if (!options.device.device.empty()) devices = {devices[chosen]};

  // CUDA is listed unless one Vulkan device was asked for.
  const bool with_cuda = options.device.device.empty();
  const cuda::CudaProbe& cuda_probe = cuda::probe_cuda();
  if (options.json) {
    // One array: Vulkan devices, then CUDA devices, or one entry saying why CUDA is unavailable;
    // "backend" tells them apart.
    nlohmann::json out = nlohmann::json::array();
    for (const vk::DeviceInfo& d : devices) {
      nlohmann::json j = device_json(d);
      j["default"] = d.index == chosen;
      out.push_back(std::move(j));
    }
    if (with_cuda && cuda_probe.available) {
      for (const cuda::CudaDeviceInfo& d : cuda_probe.devices) {
        nlohmann::json j = cuda_device_json(d, cuda_probe);
        const vk::DeviceInfo* twin = vulkan_twin(devices, d.pci_bus_id);
        j["vulkan_device"] = twin == nullptr ? nlohmann::json(nullptr) : nlohmann::json(twin->index);
        j["default"] = false;
        out.push_back(std::move(j));
      }
    } else if (with_cuda) {
      out.push_back(cuda_unavailable_json(cuda_probe));
    }
    // One array of device objects; the build is in each so a saved file says what produced it.
    for (auto& j : out) j["vkgraph"] = {{"version", vkgraph::version()}, {"commit", vkgraph::git_commit()}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("vkgraph %s (%s), Vulkan instance %s%s\n\n", vkgraph::version(), vkgraph::git_commit(),
              vk::api_version_string(instance.api_version()).c_str(),
              instance.validation_enabled() ? ", validation on" : "");
  for (const vk::DeviceInfo& d : devices) {
    std::string text = vk::describe(d);
    if (d.index == chosen) {
      text.insert(text.find('\n'), "  [default]");
    }
    std::printf("%s\n", text.c_str());
  }
  if (with_cuda) std::printf("%s", describe_cuda(cuda_probe, devices).c_str());
  return 0;
}

const CommandRegistration registration{
    "devices", "List Vulkan devices and the capabilities that matter for compute, and CUDA devices", [](CLI::App& app) {
      auto options = std::make_shared<DevicesOptions>();
      app.add_flag("--json", options->json, "print a JSON array of device objects");
      add_device_options(app, options->device);
      return [options] { return run_devices(*options); };
    }};

}  // namespace
}  // namespace vkgraph::cli
