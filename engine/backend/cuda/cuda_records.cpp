// The CUDA devices as the registry lists them: from the probe (cuda_probe.cpp, or cuda_stub.cpp
// in builds without CUDA, whose probe says why), so this file builds either way.
#include <fmt/format.h>

#include "engine/backend/cuda/cuda_backend.h"

namespace vkgraph::cuda {
namespace {

std::string version_string(int version) {  // CUDA's 13000 -> "13.0"
  return fmt::format("{}.{}", version / 1000, version % 1000 / 10);
}

}  // namespace

DeviceRecord cuda_device_record(const CudaDeviceInfo& d, const CudaProbe& probe) {
  DeviceRecord r;
  r.backend = "cuda";
  r.index = uint32_t(d.index);
  r.name = d.name;
  r.memory_bytes = d.memory_bytes;
  r.pci_bus_id = d.pci_bus_id;
  r.is_default = d.index == 0;  // create_cuda_backend("") opens device 0
  r.properties = {
      {"vendor", "NVIDIA"},
      {"compute_capability", fmt::format("{}.{}", d.compute_major, d.compute_minor)},
      {"sm", sm_name(d)},
      {"multiprocessors", std::to_string(d.multiprocessors)},
      {"driver_version", version_string(probe.driver_version)},
      {"runtime_version", version_string(probe.runtime_version)},
  };
  return r;
}

std::vector<DeviceRecord> list_cuda_devices() {
  const CudaProbe& probe = probe_cuda();
  if (!probe.available) {
    DeviceRecord none;
    none.backend = "cuda";
    none.available = false;
    none.reason = probe.reason;
    none.properties = {{"built_in", probe.built_in ? "yes" : "no"}};
    if (probe.built_in) none.properties.push_back({"runtime_version", version_string(probe.runtime_version)});
    return {none};
  }
  std::vector<DeviceRecord> out;
  for (const CudaDeviceInfo& d : probe.devices) out.push_back(cuda_device_record(d, probe));
  return out;
}

std::string describe_cuda_device(const DeviceRecord& r) {
  if (!r.available) return fmt::format("CUDA: unavailable ({})\n", r.reason);
  std::string out = fmt::format("cuda device {}: {}\n", r.index, r.name);
  out += fmt::format("  {:<22}{} ({}), {} multiprocessors\n", "compute capability", r.property("compute_capability"),
                     r.property("sm"), r.property("multiprocessors"));
  out += fmt::format("  {:<22}{} MiB\n", "memory", r.memory_bytes >> 20);
  out += fmt::format("  {:<22}{}\n", "pci bus", r.pci_bus_id);
  out += fmt::format("  {:<22}runtime {}, driver {}\n", "cuda", r.property("runtime_version"),
                     r.property("driver_version"));
  return out;
}

}  // namespace vkgraph::cuda
