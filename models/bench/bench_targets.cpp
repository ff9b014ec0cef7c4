#include "models/bench/bench_targets.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "engine/backend/registry.h"
#include "engine/backend/vulkan/device_info.h"
#include "engine/backend/vulkan/device_select.h"
#include "engine/backend/vulkan/instance.h"
#include "engine/core/error.h"

namespace vkgraph::bench {
namespace {

// Every backend the project has, built here or not: a name outside this list is a typo.
const std::vector<std::string>& known_backends() {
  static const std::vector<std::string> names = {"vulkan", "cuda", "cpu"};
  return names;
}

// How many CUDA devices to look for with --device all: the backend's own errors end the scan.
constexpr int kMaxCudaDevices = 16;

void add_vulkan(const std::vector<std::string>& devices, TargetList& out) {
  vk::Instance instance;
  const std::vector<vk::DeviceInfo> found = vk::probe_devices(instance);
  if (found.empty()) {
    out.notes.push_back("vulkan: no Vulkan device (the loader found no physical device)");
    return;
  }
  std::vector<std::string> chosen;
  for (const std::string& d : devices) {
    if (d == "all") {
      for (const vk::DeviceInfo& info : found) chosen.push_back(std::to_string(info.index));
    } else {
      // Throws naming the request and listing the devices when nothing or several match.
      const size_t i = vk::select_device(found, vk::effective_device_request(d));
      chosen.push_back(std::to_string(found[i].index));
    }
  }
  for (const std::string& index : chosen) {
    if (std::none_of(out.targets.begin(), out.targets.end(),
                     [&](const BenchTarget& t) { return t.backend == "vulkan" && t.device == index; })) {
      out.targets.push_back({"vulkan", index});
    }
  }
}

void add_cuda(const std::vector<std::string>& devices, TargetList& out) {
  // Built in, but maybe without a driver or device: the registry's probe says why.
  if (const BackendAvailability a = backend_availability("cuda"); !a.available) {
    out.notes.push_back("cuda: no CUDA device (" + a.reason + ")");
    return;
  }
  for (const std::string& d : devices) {
    if (d.empty()) {
      // No --device: the default CUDA device; a machine without one gets a note.
      try {
        create_backend("cuda", "");
        out.targets.push_back({"cuda", ""});
      } catch (const Error& e) {
        out.notes.push_back(std::string("cuda: ") + e.what());
      }
      continue;
    }
    if (d != "all") {
      create_backend("cuda", d);  // a named device that does not open is an error
      out.targets.push_back({"cuda", d});
      continue;
    }
    int opened = 0;
    std::string first_error;
    for (int i = 0; i < kMaxCudaDevices; ++i) {
      try {
        create_backend("cuda", std::to_string(i));
      } catch (const Error& e) {
        if (i == 0) first_error = e.what();
        break;
      }
      out.targets.push_back({"cuda", std::to_string(i)});
      ++opened;
    }
    if (opened == 0) out.notes.push_back("cuda: " + first_error);
  }
}

}  // namespace

TargetList resolve_targets(const std::vector<std::string>& backends, const std::vector<std::string>& devices) {
  VKGRAPH_CHECK(!backends.empty(), "--backend: no backend given (this build has {})", fmt::join(backend_names(), ", "));
  const std::vector<std::string> selectors = devices.empty() ? std::vector<std::string>{""} : devices;
  TargetList out;
  for (const std::string& name : backends) {
    const auto& known = known_backends();
    VKGRAPH_CHECK(std::find(known.begin(), known.end(), name) != known.end(),
                  "--backend: unknown backend '{}' (known: {}; this build has {})", name, fmt::join(known, ", "),
                  fmt::join(backend_names(), ", "));
    if (!has_backend(name)) {
      out.notes.push_back(fmt::format("{}: not built (this build has {})", name, fmt::join(backend_names(), ", ")));
      continue;
    }
    if (name == "vulkan") {
      add_vulkan(selectors, out);
    } else if (name == "cuda") {
      add_cuda(selectors, out);
    } else if (std::none_of(out.targets.begin(), out.targets.end(),
                            [&](const BenchTarget& t) { return t.backend == name; })) {
      out.targets.push_back({name, ""});
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
