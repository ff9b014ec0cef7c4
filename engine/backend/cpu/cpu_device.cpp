#include "engine/backend/cpu/cpu_device.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

namespace vkgraph::cpu {
namespace {

// The value of the first /proc/cpuinfo line starting with one of `keys` ("vendor_id" on x86,
// "CPU implementer" on ARM), "" elsewhere.
std::string cpuinfo(std::initializer_list<const char*> keys) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    for (const char* key : keys) {
      if (line.rfind(key, 0) != 0) continue;
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      if (!v.empty()) return v;
    }
  }
  return {};
}

// 64 MiB, as the Vulkan probe's buffer: above the last-level cache.
constexpr size_t kProbeBytes = size_t(64) << 20;

}  // namespace

DeviceRecord cpu_device_record() {
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  DeviceRecord r;
  r.backend = "cpu";
  r.index = 0;
  r.name = "CPU (" + std::to_string(threads) + " threads)";
  r.is_default = true;
  const std::string vendor = cpuinfo({"vendor_id", "CPU implementer"});
  r.properties = {{"type", "cpu"},
                  {"vendor", vendor.empty() ? "unknown" : vendor},
                  {"model", cpuinfo({"model name"})},
                  {"threads", std::to_string(threads)}};
  return r;
}

double cpu_copy_bandwidth() {
  std::vector<std::byte> src(kProbeBytes, std::byte{1}), dst(kProbeBytes);
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  const size_t chunk = (kProbeBytes + threads - 1) / threads;
  const auto copy_once = [&] {
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
      const size_t begin = t * chunk, end = std::min(kProbeBytes, begin + chunk);
      if (begin >= end) break;
      pool.emplace_back([&, begin, end] { std::memcpy(dst.data() + begin, src.data() + begin, end - begin); });
    }
    for (std::thread& th : pool) th.join();
  };
  copy_once();  // first touch of dst's pages
  double best = 0.0;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    copy_once();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (s > 0.0 && (best == 0.0 || s < best)) best = s;
  }
  return best > 0.0 ? 2.0 * double(kProbeBytes) / best : 0.0;
}

}  // namespace vkgraph::cpu
