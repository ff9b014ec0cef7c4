#include "engine/backend/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/core/error.h"

namespace vkgraph {
namespace {

struct BackendEntry {
  const char* name;
  std::function<std::unique_ptr<Backend>(const std::string& device)> create;
  bool built_in = true;
};

// One row per backend, in order of preference. Adding a backend is one row here.
const std::vector<BackendEntry>& entries() {
  static const std::vector<BackendEntry> table = {
      // device: an index or a name substring, "" = VKGRAPH_DEVICE or the best GPU.
      {"vulkan", [](const std::string& device) { return vk::create_vulkan_backend(device); }},
      // device: an index, a name substring or a PCI bus id, "" = device 0. Listed only in builds
      // with CUDA (cuda_stub.cpp otherwise); without a driver or device, creating it fails with
      // "no CUDA device: <reason>".
      {"cuda", [](const std::string& device) { return cuda::create_cuda_backend(device); }, cuda::cuda_built_in()},
      {"cpu",
       [](const std::string& device) -> std::unique_ptr<Backend> {
         VKGRAPH_CHECK(device.empty() || device == "0" || device == "cpu",
                       "backend cpu has one device (\"0\"), not \"{}\"", device);
         return std::make_unique<cpu::CpuBackend>();
       }},
  };
  return table;
}

}  // namespace

std::unique_ptr<Backend> create_backend(const std::string& name, const std::string& device) {
  for (const BackendEntry& entry : entries()) {
    // A backend that is not built in still has its row: its factory says why it cannot run.
    if (name == entry.name) return entry.create(device);
  }
  fail("unknown backend \"{}\": this build has {}", name, fmt::join(backend_names(), ", "));
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const BackendEntry& entry : entries()) {
    if (entry.built_in) names.emplace_back(entry.name);
  }
  return names;
}

bool has_backend(const std::string& name) {
  for (const BackendEntry& entry : entries()) {
    if (name == entry.name && entry.built_in) return true;
  }
  return false;
}

BackendAvailability backend_availability(const std::string& name) {
  if (name == "cuda") {  // built in or not, the probe says why it cannot run
    const cuda::CudaProbe& probe = cuda::probe_cuda();
    return {probe.available, probe.available ? std::string() : probe.reason};
  }
  if (!has_backend(name)) {
    return {false, fmt::format("this build has no backend \"{}\" (it has {})", name, fmt::join(backend_names(), ", "))};
  }
  // Vulkan finds its devices when the backend is created, and creating it names a device
  // problem; as far as the build goes it is available.
  return {true, {}};
}

}  // namespace vkgraph
