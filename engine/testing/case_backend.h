#pragma once
// Which backend the op cases run on (`vkgraph test-ops --backend`, the per-backend ctest cases):
// the same list of cases for every backend, with a backend that cannot run here refused by name
// and reason instead of failing case by case.

#include <memory>
#include <string>

#include "engine/backend/backend.h"

namespace vkgraph::testing {

// The backend under test: `name` ("" = the registry's default backend) on `device`. Throws an Error "backend <name> is
// unavailable: <reason>" when it cannot run on this machine (cuda without a driver or device).
std::unique_ptr<Backend> create_case_backend(const std::string& name, const std::string& device = "");

}  // namespace vkgraph::testing
