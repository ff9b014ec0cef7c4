#pragma once
// Backends by name. Callers (CLI, tests, the C API) ask for "cpu" or "vulkan" here and never
// include a backend's own header; a backend that is not built in is a clear error.

#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"

namespace vkgraph {

// device: backend-specific selector ("" = default; for vulkan an index or a name substring).
// Throws Error naming the backend and listing the available ones when `name` is unknown.
std::unique_ptr<Backend> create_backend(const std::string& name, const std::string& device = "");

// Names of the backends built into this binary, in order of preference ("vulkan" before "cpu").
std::vector<std::string> backend_names();

bool has_backend(const std::string& name);

}  // namespace vkgraph
