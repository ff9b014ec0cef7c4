#pragma once
// `--device` (and `--require`) for any subcommand that runs on a Vulkan device, and the Context
// made from them. Usage in a cmd_*.cpp setup function:
//   auto device = std::make_shared<DeviceOptions>();
//   add_device_options(app, *device);
//   return [device] { auto ctx = create_context(*device); ... };

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "engine/backend/vulkan/context.h"

namespace vkgraph::cli {

struct DeviceOptions {
  std::string device;                 // index or name substring; "" = VKGRAPH_DEVICE or default
  std::vector<std::string> required;  // feature names (see vk::feature_name)
  bool validation = false;            // --validation (also VKGRAPH_VALIDATION=1)
};

void add_device_options(CLI::App& app, DeviceOptions& options);

// The request these options make (features parsed; unknown names throw Error).
vk::DeviceRequest device_request(const DeviceOptions& options);

// Creates the Context; throws Error naming the device/feature (main prints it, exits 1).
std::shared_ptr<vk::Context> create_context(const DeviceOptions& options);

}  // namespace vkgraph::cli
