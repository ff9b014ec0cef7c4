#pragma once
// The device probe as JSON (`vkgraph devices --json`, bench rows).

#include <nlohmann/json.hpp>

#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/vulkan/device_info.h"

namespace vkgraph::cli {

nlohmann::json device_json(const vk::DeviceInfo& info);

// One CUDA device: {"backend": "cuda", "available": true, index, name, pci_bus_id, ...}.
nlohmann::json cuda_device_json(const cuda::CudaDeviceInfo& device, const cuda::CudaProbe& probe);

// CUDA without a usable device: {"backend": "cuda", "available": false, "reason": ...}.
nlohmann::json cuda_unavailable_json(const cuda::CudaProbe& probe);

}  // namespace vkgraph::cli
