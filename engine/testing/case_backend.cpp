#include "engine/testing/case_backend.h"

#include "engine/backend/registry.h"
#include "engine/core/error.h"

namespace vkgraph::testing {

std::unique_ptr<Backend> create_case_backend(const std::string& name, const std::string& device) {
  const std::string chosen = name.empty() ? default_backend_name() : name;
  const BackendAvailability availability = backend_availability(chosen);
  VKGRAPH_CHECK(availability.available, "backend {} is unavailable: {}", chosen, availability.reason);
  return create_backend(chosen, device);
}

}  // namespace vkgraph::testing
