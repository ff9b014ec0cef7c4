#include "models/bench/device_report.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/probe_kernels.h"
#include "engine/graph/plan.h"
#include "models/arch/step_graph.h"

namespace vkgraph::bench {
namespace {

constexpr const char* kNotApplicable = "n/a";

// The CPU's vendor string from /proc/cpuinfo ("GenuineIntel", "AuthenticAMD"; ARM has no such
// line: "CPU implementer" instead), "unknown" elsewhere.
std::string cpu_vendor() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    for (const char* key : {"vendor_id", "CPU implementer"}) {
      if (line.rfind(key, 0) == 0) {
        const size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string v = line.substr(colon + 1);
          v.erase(0, v.find_first_not_of(" \t"));
          if (!v.empty()) return v;
        }
      }
    }
  }
  return "unknown";
}

// "coopmat", "portable" or "coopmat+portable" from the set of paths seen.
std::string path_name(const std::set<std::string>& paths, const std::string& none) {
  if (paths.empty()) return none;
  std::string s;
  for (const std::string& p : paths) s += (s.empty() ? "" : "+") + p;
  return s;
}

// A CPU probe buffer of 64 MiB, as the Vulkan one: above the last-level cache.
constexpr size_t kCpuProbeBytes = size_t(64) << 20;

double cpu_copy_bandwidth() {
  std::vector<std::byte> src(kCpuProbeBytes, std::byte{1}), dst(kCpuProbeBytes);
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  const size_t chunk = (kCpuProbeBytes + threads - 1) / threads;
  const auto copy_once = [&] {
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
      const size_t begin = t * chunk, end = std::min(kCpuProbeBytes, begin + chunk);
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
  return best > 0.0 ? 2.0 * double(kCpuProbeBytes) / best : 0.0;
}

}  // namespace

DeviceReport describe_device(Backend& backend, const std::string& selector) {
  DeviceReport r;
  r.backend = backend.name();
  r.selector = selector;
  r.name = backend.device_name();
  r.driver = r.driver_version = r.api_version = kNotApplicable;
  if (auto* vulkan = dynamic_cast<vk::VulkanBackend*>(&backend)) {
    const vk::DeviceInfo& info = vulkan->context()->info();
    r.name = info.name;
    r.vendor = info.vendor_name;
    r.driver = info.driver_name.empty() ? kNotApplicable : info.driver_name;
    r.driver_version = info.driver_version;
    r.driver_info = info.driver_info;
    r.api_version = vk::api_version_string(info.api_version);
  } else if (r.backend == "cpu") {
    r.vendor = cpu_vendor();
  } else if (r.backend == "cuda") {
    r.vendor = "NVIDIA";
  } else {
    r.vendor = "unknown";
  }
  r.matmul_path = r.attention_path = r.backend;
  return r;
}

void describe_kernel_paths(Backend& backend, const models::Model& model, DeviceReport& report) {
  auto* vulkan = dynamic_cast<vk::VulkanBackend*>(&backend);
  if (vulkan == nullptr) return;  // only Vulkan chooses among kernel variants
  const vk::DeviceInfo& info = vulkan->context()->info();
  // A two-slot cache is enough to build the graphs: selection depends on types and forms only.
  const models::KvStorage kv = models::allocate_kv(model.hparams(), backend, 2);
  std::set<std::string> matmul, attention;
  for (int64_t n_tokens : {1, 2}) {  // the decode (mat-vec) and prompt (tiled) forms
    models::StepShape shape;
    shape.n_tokens = n_tokens;
    const Plan plan = Plan::build(models::build_step_graph(model.hparams(), model.weights(), kv, shape).graph);
    for (const Step& step : plan.steps()) {
      const Node& node = plan.graph().node(step.node);
      if (node.op != OpKind::matmul && node.op != OpKind::attention) continue;
      const vk::KernelRow& row = vk::select_kernel_row(info, vk::kernel_key(plan.graph(), node));
      const char* path = row.variant.requirements.coopmat ? "coopmat" : "portable";
      (node.op == OpKind::matmul ? matmul : attention).insert(path);
    }
  }
  report.matmul_path = path_name(matmul, "none");
  report.attention_path = path_name(attention, "none");
}

void probe_bandwidth(Backend& backend, DeviceReport& report) {
  if (auto* vulkan = dynamic_cast<vk::VulkanBackend*>(&backend)) {
    const vk::CopyBandwidth bw = vk::measure_copy_bandwidth(vulkan->context());
    report.probe_bytes_per_second = bw.bytes_per_second;
    report.probe_method = bw.timestamps ? "copy shader, timestamps" : "copy shader, wall time";
  } else if (report.backend == "cpu") {
    report.probe_bytes_per_second = cpu_copy_bandwidth();
    report.probe_method = "threaded memcpy, wall time";
  }
}

}  // namespace vkgraph::bench
