#include "engine/backend/vulkan/device_select.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Default preference: real GPUs first, a CPU implementation last. Lower is better.
int type_rank(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return 2;
    case VK_PHYSICAL_DEVICE_TYPE_OTHER:
      return 3;
    default:
      return 4;  // CPU
  }
}

// The names a person may use for a device: its name, its driver's name, and for Mesa's CPU
// driver "lavapipe" (the driver's project name; its device name says "llvmpipe").
std::vector<std::string> names_of(const DeviceInfo& d) {
  std::vector<std::string> names = {lower(d.name)};
  if (!d.driver_name.empty()) names.push_back(lower(d.driver_name));
  if (d.driver_id == VK_DRIVER_ID_MESA_LLVMPIPE) names.emplace_back("lavapipe");
  return names;
}

bool parse_index(std::string_view s, size_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string effective_device_request(std::string_view request) {
  if (!request.empty()) return std::string(request);
  const char* env = std::getenv(kDeviceEnv);
  return env ? std::string(env) : std::string();
}

std::string list_devices(std::span<const DeviceInfo> devices) {
  std::string out;
  for (size_t i = 0; i < devices.size(); ++i) {
    out += fmt::format("\n  {}: {} [{}, driver {}]", i, devices[i].name, device_type_name(devices[i].type),
                       devices[i].driver_name.empty() ? "unknown" : devices[i].driver_name);
  }
  return out;
}

size_t select_device(std::span<const DeviceInfo> devices, std::string_view request) {
  VKGRAPH_CHECK(!devices.empty(),
                "no Vulkan device found: install a Vulkan driver (for the CPU: Mesa's lavapipe, Debian package "
                "mesa-vulkan-drivers)");
  if (request.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < devices.size(); ++i) {
      if (type_rank(devices[i].type) < type_rank(devices[best].type)) best = i;
    }
    return best;
  }
  size_t index = 0;
  if (parse_index(request, &index)) {
    VKGRAPH_CHECK(index < devices.size(), "device index {} does not exist; {} device(s) available:{}", index,
                  devices.size(), list_devices(devices));
    return index;
  }
  const std::string needle = lower(request);
  std::vector<size_t> matches;
  for (size_t i = 0; i < devices.size(); ++i) {
    for (const std::string& name : names_of(devices[i])) {
      if (name.find(needle) != std::string::npos) {
        matches.push_back(i);
        break;
      }
    }
  }
  VKGRAPH_CHECK(!matches.empty(), "no Vulkan device matches '{}'; available devices (choose by index or name):{}",
                request, list_devices(devices));
  VKGRAPH_CHECK(matches.size() == 1, "device '{}' is ambiguous: it matches {} devices; use an index:{}", request,
                matches.size(), list_devices(devices));
  return matches[0];
}

}  // namespace vkgraph::vk
