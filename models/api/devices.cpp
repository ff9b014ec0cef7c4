// vkgraph_list_devices: every available device of every backend built in, in the registry's
// order of preference (Vulkan devices, then CUDA devices where a driver and a device exist, then
// the CPU).

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "models/api/handles.h"

extern "C" vkgraph_status vkgraph_list_devices(vkgraph_device_info* devices, size_t capacity, size_t* count) {
  return vkgraph::api::guarded(VKGRAPH_ERR_DEVICE, [&] {
    vkgraph::api::require(count != nullptr, "count is NULL");
    vkgraph::api::require(devices != nullptr || capacity == 0, "devices is NULL with a nonzero capacity");
    std::vector<vkgraph_device_info> found;
    for (const vkgraph::DeviceRecord& d : vkgraph::list_devices()) {
      // A backend that cannot run here (CUDA without a driver) lists no device; `vkgraph devices`
      // shows why.
      if (!d.available || !vkgraph::has_backend(d.backend)) continue;
      vkgraph_device_info& out = found.emplace_back();
      out = {};
      std::strncpy(out.backend, d.backend.c_str(), sizeof(out.backend) - 1);
      std::strncpy(out.name, d.name.c_str(), sizeof(out.name) - 1);
      out.index = d.index;
      out.memory_bytes = d.memory_bytes;
    }
    *count = found.size();
    std::copy_n(found.begin(), std::min(capacity, found.size()), devices);
  });
}
