// vkgraph_bench_attention_long_context: prefill of long prompts through a synthetic model of
// stories260K's shape with a 16384-token context (synth preset stories260k-16k), reporting per
// prompt length the peak device memory the prefill added (KV cache, arena, inputs and outputs:
// the allocator's high-water mark above the loaded weights) and the wall time. Attention keeps
// no N x N buffer, so the bytes per prompt token must stay flat as the length doubles. The
// prompt runs in steps of --batch tokens (the session's default, as `vkgraph run` does); with
// --batch 0 it is one step, so one attention dispatch sees every query at once (on a CPU driver
// a long one then needs a raised VKGRAPH_GPU_TIMEOUT_MS). Also printed: the KV cache's and the
// step executables' device bytes, the bytes per token added since the previous length (the
// slope: flat when memory grows linearly, whatever fixed part the steps' arena adds), and the
// process's peak resident host memory so far.
//
//   vkgraph_bench_attention_long_context [--device D] [--lengths 2048,4096,8192,16384]
//                                        [--preset stories260k-16k] [--force shader[,shader...]]
//                                        [--batch N]

#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/bench_main.h"
#include "engine/backend/registry.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/core/error.h"
#include "models/model.h"
#include "models/session.h"
#include "models/synth/presets.h"
#include "models/synth/synth_model.h"

namespace {

using namespace vkgraph;

struct Options {
  std::string device;
  std::string preset = "stories260k-16k";
  std::vector<int64_t> lengths{2048, 4096, 8192, 16384};
  std::vector<std::string> force;                    // shader variants to force (vk::ForcedKernels)
  int64_t batch = models::SessionOptions{}.n_batch;  // tokens per step; 0: the whole prompt
};

// The process's peak resident set so far, in MiB (Linux reports ru_maxrss in KiB).
double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&] { return vkgraph::bench_tools::flag_value(argc, argv, i, a); };
    if (a == "--device") {
      o.device = value();
    } else if (a == "--preset") {
      o.preset = value();
    } else if (a == "--lengths") {
      o.lengths.clear();
      const std::string list = value();
      size_t start = 0;
      while (start < list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        const long long n = std::atoll(list.substr(start, comma - start).c_str());
        if (n <= 0) fail("--lengths {}: expected positive numbers", list);
        o.lengths.push_back(n);
        start = comma + 1;
      }
    } else if (a == "--batch") {
      const std::string text = value();
      o.batch = std::atoll(text.c_str());
      if (o.batch < 0 || (o.batch == 0 && text != "0")) fail("--batch {}: expected a number >= 0", text);
    } else if (a == "--force") {
      const std::string list = value();
      size_t start = 0;
      while (start < list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        if (comma > start) o.force.push_back(list.substr(start, comma - start));
        start = comma + 1;
      }
    } else {
      fail("unknown argument '{}' (known: --device --preset --lengths --force --batch)", a);
    }
  }
  return o;
}

void run(const Options& o) {
  std::unique_ptr<Backend> backend = create_backend("vulkan", o.device);
  auto* vulkan = dynamic_cast<vk::VulkanBackend*>(backend.get());
  VKGRAPH_CHECK(vulkan != nullptr, "the vulkan backend is not a VulkanBackend");
  vk::MemoryAllocator& memory = vulkan->context()->memory();

  const models::Preset& preset = models::find_preset(o.preset);
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / fmt::format("vkgraph_long_context_{}.gguf", o.preset);
  models::write_synthetic_model(preset, models::SynthOptions{"f32"}, path.string());
  std::unique_ptr<models::Model> model = models::Model::load(path.string(), *backend);
  std::filesystem::remove(path);
  const uint64_t weights = memory.stats().bytes_in_use;

  fmt::print("device: {}; model: synthetic {} (weights {:.2f} MiB on the device)\n", backend->device_name(), o.preset,
             double(weights) / (1 << 20));
  fmt::print("steps of {} tokens\n",
             o.batch > 0 ? fmt::format("at most {}", o.batch) : std::string("all the prompt's"));
  fmt::print("{:>8} {:>16} {:>12} {:>12} {:>8} {:>10} {:>12} {:>10} {:>14}\n", "tokens", "peak added MiB",
             "bytes/token", "slope B/tok", "KV MiB", "exec MiB", "prefill s", "tok/s", "peak RSS MiB");
  int64_t previous_n = 0;
  uint64_t previous_added = 0;
  std::fflush(stdout);
  for (int64_t n : o.lengths) {
    memory.reset_peak();
    const uint64_t before = memory.stats().bytes_in_use;
    std::vector<int32_t> tokens(static_cast<size_t>(n));
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t(1 + (i * 7919) % 500);  // any in-vocabulary ids
    const auto t0 = std::chrono::steady_clock::now();
    double kv_mib = 0.0, exec_mib = 0.0;
    {
      models::SessionOptions so;
      so.n_ctx = n;
      so.n_batch = o.batch;
      models::Session session(*model, *backend, so);
      const std::vector<float> logits = session.eval(tokens);
      VKGRAPH_CHECK(!logits.empty(), "prefill of {} tokens returned no logits", n);
      kv_mib = double(session.kv_bytes()) / (1 << 20);
      exec_mib = double(session.executable_bytes()) / (1 << 20);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const uint64_t added = memory.stats().peak_bytes - before;
    const std::string slope =
        previous_n > 0 && n != previous_n
            ? fmt::format("{:.0f}", (double(added) - double(previous_added)) / double(n - previous_n))
            : std::string("-");
    fmt::print("{:>8} {:>16.2f} {:>12.0f} {:>12} {:>8.2f} {:>10.2f} {:>12.2f} {:>10.0f} {:>14.1f}\n", n,
               double(added) / (1 << 20), double(added) / double(n), slope, kv_mib, exec_mib, s, double(n) / s,
               peak_rss_mib());
    previous_n = n;
    previous_added = added;
    std::fflush(stdout);  // a long run shows each length as it completes
  }
}

}  // namespace

int main(int argc, char** argv) {
  return vkgraph::bench_tools::bench_main("vkgraph_bench_attention_long_context", argc, argv, parse, run);
}
