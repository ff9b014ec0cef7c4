// `vkgraph devices [--json]`: the capability probe of every Vulkan device, for a person or a
// program. With --device (and --require) it shows the one device a command would use and fails
// like that command would.
#include <cstdio>
#include <memory>

#include "engine/core/version.h"
#include "cli/command.h"
#include "cli/device_json.h"
#include "cli/device_options.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/device_info.h"
#include "engine/backend/vulkan/device_select.h"
#include "engine/backend/vulkan/instance.h"
#include "engine/core/error.h"

namespace vkgraph::cli {
namespace {

struct DevicesOptions {
  bool json = false;
  DeviceOptions device;
};

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

  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const vk::DeviceInfo& d : devices) {
      nlohmann::json j = device_json(d);
      j["default"] = d.index == chosen;
      out.push_back(std::move(j));
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
  return 0;
}

const CommandRegistration registration{
    "devices", "List Vulkan devices and the capabilities that matter for compute", [](CLI::App& app) {
      auto options = std::make_shared<DevicesOptions>();
      app.add_flag("--json", options->json, "print a JSON array of device objects");
      add_device_options(app, options->device);
      return [options] { return run_devices(*options); };
    }};

}  // namespace
}  // namespace vkgraph::cli
