#include "engine/backend/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <functional>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cpu/cpu_device.h"
#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/device_records.h"
#include "engine/backend/vulkan/instance.h"
#include "engine/core/error.h"

namespace vkgraph {
namespace {

struct BackendEntry {
  const char* name;
  bool built_in;
  // device: a selector within the backend, "" = its default device.
  std::function<std::unique_ptr<Backend>(const std::string& device)> create;
  std::function<std::vector<DeviceRecord>()> list;
  std::function<std::string(const DeviceRecord& device)> describe;
};

std::unique_ptr<Backend> create_cpu(const std::string& device) {
  VKGRAPH_CHECK(device.empty() || device == "0" || device == "cpu", "backend cpu has one device (\"0\"), not \"{}\"",
                device);
  return std::make_unique<cpu::CpuBackend>();
}

std::string describe_cpu(const DeviceRecord& d) {
  std::string out = fmt::format("cpu device {}: {}\n", d.index, d.name);
  for (const DeviceProperty& p : d.properties) out += fmt::format("  {:<22}{}\n", p.key, p.value);
  return out;
}

std::string describe_vulkan(const DeviceRecord& d) {
  return d.available ? vk::describe_vulkan_device(d.index) : fmt::format("Vulkan: unavailable ({})\n", d.reason);
}

// One row per backend the project has, in order of preference. Adding a backend is one row here.
const std::vector<BackendEntry>& entries() {
  static const std::vector<BackendEntry> table = {
      // device: an index or a name substring, "" = VKGRAPH_DEVICE or the best GPU.
      {"vulkan", true, vk::create_vulkan_backend, vk::list_vulkan_devices, describe_vulkan},
      // device: an index, a name substring or a PCI bus id, "" = device 0. Built in only with
      // CUDA (cuda_stub.cpp otherwise); without a driver or device, creating it fails with
      // "no CUDA device: <reason>" and its listing says the same.
      {"cuda", cuda::cuda_built_in(), cuda::create_cuda_backend, cuda::list_cuda_devices, cuda::describe_cuda_device},
      {"cpu", true, create_cpu, [] { return std::vector<DeviceRecord>{cpu::cpu_device_record()}; }, describe_cpu},
  };
  return table;
}

const BackendEntry* find_entry(const std::string& name) {
  for (const BackendEntry& entry : entries()) {
    if (name == entry.name) return &entry;
  }
  return nullptr;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// "  vulkan:0  llvmpipe (LLVM 15.0.6, 256 bits)" lines, for error messages.
std::string listing(const std::vector<DeviceRecord>& devices) {
  std::string out;
  for (const DeviceRecord& d : devices) {
    out += d.available ? fmt::format("\n  {:<10}{}", d.selector(), d.name)
                       : fmt::format("\n  {:<10}unavailable: {}", d.backend, d.reason);
  }
  return out.empty() ? std::string("\n  (none)") : out;
}

// The available devices of one backend that `rest` (what follows "backend:") names.
std::vector<DeviceRecord> pick(const std::string& selector, const BackendEntry& entry, const std::string& rest) {
  VKGRAPH_CHECK(entry.built_in, "device '{}': this build has no backend {} (it has {})", selector, entry.name,
                fmt::join(backend_names(), ", "));
  const std::vector<DeviceRecord> devices = entry.list();
  std::vector<DeviceRecord> out;
  for (const DeviceRecord& d : devices) {
    if (!d.available) continue;
    const bool match = rest.empty()       ? d.is_default
                       : rest == "all"    ? true
                       : all_digits(rest) ? std::to_string(d.index) == rest
                                          : lower(d.name).find(lower(rest)) != std::string::npos;
    if (match) out.push_back(d);
  }
  // No default device (VKGRAPH_DEVICE naming none): creating the backend says why.
  if (out.empty() && rest.empty()) entry.create("");
  VKGRAPH_CHECK(!out.empty(), "device '{}' names no {} device; {} has:{}", selector, entry.name, entry.name,
                listing(devices));
  return out;
}

}  // namespace

std::string default_backend_name() { return backend_names().front(); }

std::unique_ptr<Backend> create_backend(const std::string& name, const std::string& device) {
  // A backend that is not built in still has its row: its factory says why it cannot run.
  if (const BackendEntry* entry = find_entry(name)) return entry->create(device);
  fail("unknown backend \"{}\": this build has {}", name, fmt::join(backend_names(), ", "));
}

std::unique_ptr<Backend> create_backend(const DeviceRecord& device) {
  VKGRAPH_CHECK(device.available, "backend {} is unavailable: {}", device.backend, device.reason);
  return create_backend(device.backend, std::to_string(device.index));
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const BackendEntry& entry : entries()) {
    if (entry.built_in) names.emplace_back(entry.name);
  }
  return names;
}

std::vector<std::string> all_backend_names() {
  std::vector<std::string> names;
  for (const BackendEntry& entry : entries()) names.emplace_back(entry.name);
  return names;
}

bool has_backend(const std::string& name) {
  const BackendEntry* entry = find_entry(name);
  return entry != nullptr && entry->built_in;
}

BackendAvailability backend_availability(const std::string& name) {
  const BackendEntry* entry = find_entry(name);
  if (entry == nullptr) {
    return {false,
            fmt::format("there is no backend \"{}\" (this build has {})", name, fmt::join(backend_names(), ", "))};
  }
  if (name == "cuda") {  // built in or not, its probe says why it cannot run, without creating it
    const std::vector<DeviceRecord> devices = entry->list();
    const bool available = !devices.empty() && devices.front().available;
    return {available, available ? std::string() : devices.front().reason};
  }
  if (!entry->built_in) {
    return {false, fmt::format("this build has no backend \"{}\" (it has {})", name, fmt::join(backend_names(), ", "))};
  }
  // Vulkan finds its devices when the backend is created, and creating it names a device
  // problem; as far as the build goes it is available.
  return {true, {}};
}

std::vector<DeviceRecord> list_devices(const std::string& backend) {
  if (!backend.empty()) {
    const BackendEntry* entry = find_entry(backend);
    VKGRAPH_CHECK(entry != nullptr, "unknown backend \"{}\": this build has {}", backend,
                  fmt::join(backend_names(), ", "));
    return entry->list();
  }
  std::vector<DeviceRecord> all;
  for (const BackendEntry& entry : entries()) {
    const std::vector<DeviceRecord> devices = entry.list();
    all.insert(all.end(), devices.begin(), devices.end());
  }
  return all;
}

std::vector<DeviceRecord> resolve_devices(const std::string& selector) {
  const size_t colon = selector.find(':');
  if (colon != std::string::npos) {
    const std::string name = selector.substr(0, colon);
    const BackendEntry* entry = find_entry(name);
    VKGRAPH_CHECK(entry != nullptr, "device '{}': unknown backend \"{}\" (this build has {})", selector, name,
                  fmt::join(backend_names(), ", "));
    return pick(selector, *entry, selector.substr(colon + 1));
  }
  if (const BackendEntry* entry = find_entry(selector)) return pick(selector, *entry, "");
  if (all_digits(selector)) return pick(selector, *find_entry(default_backend_name()), selector);
  // "all" or a name substring, over every available device of every backend built in.
  std::vector<DeviceRecord> out, listed;
  for (const std::string& name : backend_names()) {
    for (const DeviceRecord& d : find_entry(name)->list()) {
      listed.push_back(d);
      if (d.available && (selector == "all" || lower(d.name).find(lower(selector)) != std::string::npos)) {
        out.push_back(d);
      }
    }
  }
  VKGRAPH_CHECK(!out.empty(), "device '{}' names no device; this machine has:{}", selector, listing(listed));
  return out;
}

std::string describe_device(const DeviceRecord& device) {
  const BackendEntry* entry = find_entry(device.backend);
  VKGRAPH_CHECK(entry != nullptr, "unknown backend \"{}\"", device.backend);
  return entry->describe(device);
}

BackendDiagnostics backend_diagnostics() { return {vk::validation_error_count(), vk::last_validation_message()}; }

}  // namespace vkgraph
