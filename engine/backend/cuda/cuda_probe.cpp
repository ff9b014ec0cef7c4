// Finding CUDA devices without assuming a driver: the runtime is linked statically and loads
// libcuda.so.1 itself, so a machine without an NVIDIA driver gets a reason, not a failed start.

#include <dlfcn.h>
#include <fmt/format.h>

#include <cuda_runtime_api.h>

#include "engine/backend/cuda/cuda_backend.h"

namespace vkgraph::cuda {
namespace {

CudaProbe run_probe() {
  CudaProbe p;
  p.built_in = true;
  cudaRuntimeGetVersion(&p.runtime_version);
  // Asked first, so the reason names the missing library: without it the runtime only reports
  // cudaErrorInsufficientDriver, which reads like an old driver rather than no driver at all.
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver == nullptr) {
    const char* why = dlerror();
    p.reason = fmt::format("no NVIDIA driver ({})", why != nullptr ? why : "libcuda.so.1 cannot be loaded");
    return p;
  }
  dlclose(driver);
  cudaDriverGetVersion(&p.driver_version);
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    p.reason = fmt::format("the CUDA runtime {}.{} finds no usable device: {} ({})", p.runtime_version / 1000,
                           p.runtime_version % 1000 / 10, cudaGetErrorName(status), cudaGetErrorString(status));
    return p;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    CudaDeviceInfo d;
    d.index = i;
    d.name = prop.name;
    // The same form as the Vulkan probe's VK_EXT_pci_bus_info id, so equal strings mean one GPU.
    d.pci_bus_id = fmt::format("{:04x}:{:02x}:{:02x}.0", prop.pciDomainID, prop.pciBusID, prop.pciDeviceID);
    d.compute_major = prop.major;
    d.compute_minor = prop.minor;
    d.memory_bytes = prop.totalGlobalMem;
    d.multiprocessors = prop.multiProcessorCount;
    p.devices.push_back(std::move(d));
  }
  p.available = !p.devices.empty();
  if (!p.available) p.reason = "no CUDA device";
  return p;
}

}  // namespace

bool cuda_built_in() { return true; }

const CudaProbe& probe_cuda() {
  static const CudaProbe probe = run_probe();
  return probe;
}

std::string sm_name(const CudaDeviceInfo& device) {
  return fmt::format("sm_{}{}", device.compute_major, device.compute_minor);
}

}  // namespace vkgraph::cuda
