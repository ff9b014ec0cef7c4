#pragma once
// The CUDA backend: the reference path on NVIDIA GPUs. Every op is a straightforward CUDA kernel
// (kernels_*.cu); a Plan runs step by step on the device. This header is plain C++ (no CUDA
// headers), so the registry and the CLI include it whether or not the backend is built in; a
// build without CUDA links cuda_stub.cpp, whose probe says so and whose factory refuses.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"

namespace vkgraph::cuda {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  std::string pci_bus_id;  // "0000:01:00.0", formatted like the Vulkan probe's for matching
  int compute_major = 0;   // compute capability, e.g. 8.9 for sm_89
  int compute_minor = 0;
  size_t memory_bytes = 0;
  int multiprocessors = 0;
};

struct CudaProbe {
  bool built_in = false;   // this binary has the CUDA backend
  bool available = false;  // built in, a driver loaded and at least one device found
  std::string reason;      // why not available ("no NVIDIA driver (...)", "no CUDA device", ...)
  int driver_version = 0;  // e.g. 13000 for 13.0; 0 without a driver
  int runtime_version = 0;
  std::vector<CudaDeviceInfo> devices;
};

// Whether this binary has the CUDA backend (a constant: asks nothing of the machine).
bool cuda_built_in();

// Probes once (the result is cached): loading the driver and counting devices. Never throws.
const CudaProbe& probe_cuda();

// The CUDA backend on the device `device` names: "" = device 0, an index, or a name substring.
// Throws an Error starting with "no CUDA device" when none is usable, with the probe's reason.
std::unique_ptr<Backend> create_cuda_backend(const std::string& device);

// "sm_89" for compute capability 8.9.
std::string sm_name(const CudaDeviceInfo& device);

// The registry's view (cuda_records.cpp, built with or without CUDA): one record per probed
// device, or one unavailable record with the probe's reason.
DeviceRecord cuda_device_record(const CudaDeviceInfo& device, const CudaProbe& probe);
std::vector<DeviceRecord> list_cuda_devices();
std::string describe_cuda_device(const DeviceRecord& device);

}  // namespace vkgraph::cuda
