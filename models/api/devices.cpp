// vkgraph_list_devices: the Vulkan devices the probe finds, then the CPU.

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>

#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/registry.h"
#include "engine/backend/vulkan/device_info.h"
#include "engine/backend/vulkan/instance.h"
#include "models/api/handles.h"

namespace {

void fill(vkgraph_device_info& out, const char* backend, const std::string& name, uint32_t index, uint64_t memory) {
  out = {};
  std::strncpy(out.backend, backend, sizeof(out.backend) - 1);
  std::strncpy(out.name, name.c_str(), sizeof(out.name) - 1);
  out.index = index;
  out.memory_bytes = memory;
}

}  // namespace

extern "C" vkgraph_status vkgraph_list_devices(vkgraph_device_info* devices, size_t capacity, size_t* count) {
  return vkgraph::api::guarded(VKGRAPH_ERR_DEVICE, [&] {
    vkgraph::api::require(count != nullptr, "count is NULL");
    vkgraph::api::require(devices != nullptr || capacity == 0, "devices is NULL with a nonzero capacity");
    std::vector<vkgraph_device_info> found;
    if (vkgraph::has_backend("vulkan")) {
      vkgraph::vk::Instance instance;
      for (const auto& d : vkgraph::vk::probe_devices(instance)) {
        fill(found.emplace_back(), "vulkan", d.name, d.index, d.device_local_bytes());
      }
    }
    // CUDA devices appear only where a driver and a device exist; a build with CUDA on a
    // machine without them lists none (vkgraph_probe's reason is shown by `vkgraph devices`).
    for (const auto& d : vkgraph::cuda::probe_cuda().devices) {
      fill(found.emplace_back(), "cuda", d.name, uint32_t(d.index), d.memory_bytes);
    }
    if (vkgraph::has_backend("cpu")) {
      const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
      fill(found.emplace_back(), "cpu", "CPU (" + std::to_string(threads) + " threads)", 0, 0);
    }
    *count = found.size();
    std::copy_n(found.begin(), std::min(capacity, found.size()), devices);
  });
}
