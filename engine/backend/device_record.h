#pragma once
// A device of any backend, described the same way for all of them: what the registry lists
// (engine/backend/registry.h), what a backend says of the device it runs on
// (Backend::device_record), and what the CLI, the C API and the benchmark show.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vkgraph {

struct DeviceProperty {
  std::string key;  // "type", "vendor", "driver", "api_version", "compute_capability", ...
  std::string value;
};

struct DeviceRecord {
  std::string backend;                     // registry name: "vulkan", "cuda", "cpu"
  uint32_t index = 0;                      // within the backend
  std::string name;                        // "NVIDIA GeForce RTX 4090", "llvmpipe (LLVM 15.0.6, 256 bits)"
  uint64_t memory_bytes = 0;               // device-local memory; 0 where the device works in host memory
  std::string pci_bus_id;                  // "0000:01:00.0", empty where unknown: the same GPU under two backends
                                           // has the same id
  std::vector<DeviceProperty> properties;  // what else the backend knows, in display order
  bool is_default = false;                 // the device the backend picks when none is named
  // A backend built in but with nothing to run on lists one record, unavailable, saying why
  // ("no NVIDIA driver (...)"); its index and name are then meaningless.
  bool available = true;
  std::string reason;

  // "vulkan:1": the selector that names exactly this device (registry.h: resolve_devices).
  std::string selector() const { return backend + ":" + std::to_string(index); }
  // The value of property `key`, "" when the backend did not give it.
  std::string property(std::string_view key) const {
    for (const DeviceProperty& p : properties) {
      if (p.key == key) return p.value;
    }
    return {};
  }
};

}  // namespace vkgraph
