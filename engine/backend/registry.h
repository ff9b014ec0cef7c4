#pragma once
// Backends by name. Callers (CLI, tests, the C API) ask for "cpu", "vulkan" or "cuda" here and
// never include a backend's own header; a backend that is not built in is a clear error.

#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"

namespace vkgraph {

// device: backend-specific selector ("" = default; for vulkan an index or a name substring).
// Throws Error naming the backend and listing the available ones when `name` is unknown.
std::unique_ptr<Backend> create_backend(const std::string& name, const std::string& device = "");

// Names of the backends built into this binary, in order of preference ("vulkan", then "cuda"
// when built with it, then "cpu").
std::vector<std::string> backend_names();

bool has_backend(const std::string& name);

// Whether a backend can run here without creating it: a backend can be built in and still have
// nothing to run on (cuda without an NVIDIA driver or device). `reason` says why not.
struct BackendAvailability {
  bool available = false;
  std::string reason;  // empty when available
};
BackendAvailability backend_availability(const std::string& name);

}  // namespace vkgraph
