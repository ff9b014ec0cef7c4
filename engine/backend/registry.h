#pragma once
// Backends and their devices by name. Callers (the CLI, the C API, tests, the benchmark) ask for
// "cpu", "vulkan" or "cuda" here, list and choose devices here, and never include a backend's
// own header; a backend that is not built in, or has nothing to run on, is a clear error.
//
// A device selector names devices across backends:
//   "vulkan:1"      device 1 of vulkan          "vulkan"      vulkan's default device
//   "vulkan:all"    every vulkan device         "all"         every available device of every backend
//   "vulkan:RTX"    vulkan devices whose name contains "RTX" (case-insensitive)
//   "RTX"           such devices of any backend "1"           device 1 of the default backend

#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/device_record.h"

namespace vkgraph {

// The backend used when none is named: the first of backend_names().
std::string default_backend_name();

// device: a selector within the backend ("" = its default device; an index or a name substring).
// Throws Error naming the backend and listing the available ones when `name` is unknown.
std::unique_ptr<Backend> create_backend(const std::string& name, const std::string& device = "");

// The backend on exactly this device.
std::unique_ptr<Backend> create_backend(const DeviceRecord& device);

// Names of the backends built into this binary, in order of preference ("vulkan", then "cuda"
// when built with it, then "cpu").
std::vector<std::string> backend_names();

// Every backend the project has, built into this binary or not: a name outside it is a typo.
std::vector<std::string> all_backend_names();

bool has_backend(const std::string& name);

// Whether a backend can run here without creating it: a backend can be built in and still have
// nothing to run on (cuda without an NVIDIA driver or device). `reason` says why not.
struct BackendAvailability {
  bool available = false;
  std::string reason;  // empty when available
};
BackendAvailability backend_availability(const std::string& name);

// The devices of `backend` ("" = of every backend built in, in order of preference). A backend
// built in but with nothing to run on gives one unavailable record saying why. Probes devices
// (creates no backend).
std::vector<DeviceRecord> list_devices(const std::string& backend = "");

// The available devices a selector names (see above), in listing order. Throws Error naming the
// selector and listing the devices when it names none, or names an unknown backend.
std::vector<DeviceRecord> resolve_devices(const std::string& selector);

// Everything the backend knows of the device, several lines for a person to read (what
// `vkgraph devices` prints).
std::string describe_device(const DeviceRecord& device);

// Messages of backend debugging layers (Vulkan's validation layer, when enabled) since the
// process started, and the last one; the CLI fails a run that produced any.
struct BackendDiagnostics {
  uint64_t messages = 0;
  std::string last;
};
BackendDiagnostics backend_diagnostics();

}  // namespace vkgraph
