#pragma once
// The device columns of a bench row: name, vendor, driver and API versions, the kernel paths
// the selection table picks for a model there, and the device's copy bandwidth (the probe).

#include <string>

#include "cli/bench/bench_row.h"
#include "engine/backend/backend.h"
#include "models/model.h"

namespace vkgraph::bench {

// Name, vendor, driver and API version of the backend's device.
DeviceReport describe_device(Backend& backend, const std::string& selector);

// Fills matmul_path and attention_path: for Vulkan, the rows the kernel table selects on this
// device for the matmuls and attention of the model's decode and prompt steps.
void describe_kernel_paths(Backend& backend, const models::Model& model, DeviceReport& report);

// Measures the copy bandwidth (probe_bytes_per_second, probe_method): the copy shader on Vulkan,
// a threaded memcpy on the CPU; left at 0 for backends without a probe.
void probe_bandwidth(Backend& backend, DeviceReport& report);

}  // namespace vkgraph::bench
