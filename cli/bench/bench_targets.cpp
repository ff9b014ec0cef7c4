#include "cli/bench/bench_targets.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "engine/backend/registry.h"
#include "engine/core/error.h"

namespace vkgraph::bench {
namespace {

void add_target(TargetList& out, const DeviceRecord& device) {
  const bool seen = std::any_of(out.targets.begin(), out.targets.end(), [&](const BenchTarget& t) {
    return t.backend == device.backend && t.device == std::to_string(device.index);
  });
  if (!seen) out.targets.push_back({device.backend, std::to_string(device.index)});
}

}  // namespace

TargetList resolve_targets(const std::vector<std::string>& backends, const std::vector<std::string>& devices) {
  VKGRAPH_CHECK(!backends.empty(), "--backend: no backend given (this build has {})", fmt::join(backend_names(), ", "));
  const std::vector<std::string> selectors = devices.empty() ? std::vector<std::string>{""} : devices;
  TargetList out;
  for (const std::string& name : backends) {
    const std::vector<std::string> known = all_backend_names();
    VKGRAPH_CHECK(std::find(known.begin(), known.end(), name) != known.end(),
                  "--backend: unknown backend '{}' (known: {}; this build has {})", name, fmt::join(known, ", "),
                  fmt::join(backend_names(), ", "));
    if (!has_backend(name)) {
      out.notes.push_back(fmt::format("{}: not built (this build has {})", name, fmt::join(backend_names(), ", ")));
      continue;
    }
    // Built in, but maybe with nothing to run on (cuda without a driver, no Vulkan device).
    const std::vector<DeviceRecord> listed = list_devices(name);
    if (listed.empty() || !listed.front().available) {
      const std::string reason = listed.empty() ? std::string("no device") : listed.front().reason;
      out.notes.push_back(fmt::format("{}: no {} device ({})", name, name == "cuda" ? "CUDA" : name, reason));
      continue;
    }
    // --device selects among the GPU backends' devices; cpu has its one device whatever it says.
    for (const std::string& selector : name == "cpu" ? std::vector<std::string>{""} : selectors) {
      // Throws naming the selector and listing the backend's devices when it names none.
      for (const DeviceRecord& d : resolve_devices(selector.empty() ? name : name + ":" + selector)) add_target(out, d);
    }
  }
  if (out.targets.empty()) {
    fail("nothing to measure: {}",
         out.notes.empty() ? std::string("no backend selected") : fmt::format("{}", fmt::join(out.notes, "; ")));
  }
  return out;
}

std::unique_ptr<Backend> create_target_backend(const BenchTarget& target) {
  return create_backend(target.backend, target.device);
}

}  // namespace vkgraph::bench
