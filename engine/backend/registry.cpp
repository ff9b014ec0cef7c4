#include "engine/backend/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/core/error.h"

namespace vkgraph {
namespace {

struct BackendEntry {
  const char* name;
  std::function<std::unique_ptr<Backend>(const std::string& device)> create;
};

// One row per backend, in order of preference. Adding a backend is one row here.
const std::vector<BackendEntry>& entries() {
  static const std::vector<BackendEntry> table = {
      // device: an index or a name substring, "" = VKGRAPH_DEVICE or the best GPU.
      {"vulkan", [](const std::string& device) { return vk::create_vulkan_backend(device); }},
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
    if (name == entry.name) return entry.create(device);
  }
  fail("unknown backend \"{}\": this build has {}", name, fmt::join(backend_names(), ", "));
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const BackendEntry& entry : entries()) names.emplace_back(entry.name);
  return names;
}

bool has_backend(const std::string& name) {
  for (const BackendEntry& entry : entries()) {
    if (name == entry.name) return true;
  }
  return false;
}

}  // namespace vkgraph
