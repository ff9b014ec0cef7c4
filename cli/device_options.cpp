#include "cli/device_options.h"

namespace vkgraph::cli {

void add_device_options(CLI::App& app, DeviceOptions& options) {
  app.add_option(
      "--device", options.device,
      "Vulkan device: index or case-insensitive name substring (default: VKGRAPH_DEVICE, else the best GPU)");
  app.add_option("--require", options.required,
                 "fail unless the device has these features (fp16, int8, storage_8bit, storage_16bit, "
                 "integer_dot_product, subgroup_size_control, cooperative_matrix, timestamps)");
  app.add_flag("--validation", options.validation, "enable the Khronos validation layer (also VKGRAPH_VALIDATION=1)");
}

vk::DeviceRequest device_request(const DeviceOptions& options) {
  vk::DeviceRequest request;
  request.device = options.device;
  request.validation = options.validation;
  for (const std::string& name : options.required) request.required.push_back(vk::parse_feature(name));
  return request;
}

std::shared_ptr<vk::Context> create_context(const DeviceOptions& options) {
  return vk::Context::create(device_request(options));
}

}  // namespace vkgraph::cli
