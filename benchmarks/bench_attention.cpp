// vkgraph_bench_attention: attention time per token at cache depths 512, 4096 and 16384 on one
// backend. Per depth it times
//   decode:  one query row against a cache of `depth` filled slots (time per generated token);
//   prefill: a chunk of --chunk query rows, the last positions of a `depth`-long prompt, against
//            the same cache (time per prompt token at that depth; causal tiles are skipped).
// The model shape defaults to stories260K's heads (8 query heads, 4 kv heads, head_dim 8);
// --heads/--kv-heads/--head-dim give others (e.g. 32/8/64 for Llama-3.2-1B). Reports device
// time (timestamps where the device has them, else wall time per run) and the kernel used.
//
//   vkgraph_bench_attention [--backend vulkan] [--device D] [--iters N] [--chunk 512]
//                           [--heads 8] [--kv-heads 4] [--head-dim 8] [--depths 512,4096,16384]
//                           [--cache f16|f32] [--force shader[,shader...]]

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/bench_main.h"
#include "engine/backend/registry.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/core/error.h"
#include "engine/graph/plan.h"
#include "engine/testing/case_data.h"

namespace {

using namespace vkgraph;

struct Options {
  std::string backend = "vulkan";
  std::string device;
  int iters = 5;
  int64_t chunk = 512;
  int64_t heads = 8, kv_heads = 4, head_dim = 8;
  std::vector<int64_t> depths{512, 4096, 16384};
  DType cache = DType::F16;
  std::vector<std::string> force;
};

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&] { return vkgraph::bench_tools::flag_value(argc, argv, i, a); };
    auto positive = [&]() -> int64_t {
      const std::string v = value();
      const long long n = std::atoll(v.c_str());
      if (n <= 0) fail("{} {}: expected a positive number", a, v);
      return n;
    };
    if (a == "--backend") {
      o.backend = value();
    } else if (a == "--device") {
      o.device = value();
    } else if (a == "--iters") {
      o.iters = int(positive());
    } else if (a == "--chunk") {
      o.chunk = positive();
    } else if (a == "--heads") {
      o.heads = positive();
    } else if (a == "--kv-heads") {
      o.kv_heads = positive();
    } else if (a == "--head-dim") {
      o.head_dim = positive();
    } else if (a == "--depths") {
      o.depths.clear();
      for (const std::string& d : split(value())) o.depths.push_back(std::max<int64_t>(1, std::atoll(d.c_str())));
    } else if (a == "--cache") {
      const std::string v = value();
      if (v != "f16" && v != "f32") fail("--cache {}: expected f16 or f32", v);
      o.cache = v == "f16" ? DType::F16 : DType::F32;
    } else if (a == "--force") {
      o.force = split(value());
    } else {
      fail(
          "unknown argument '{}' (known: --backend --device --iters --chunk --heads --kv-heads --head-dim --depths "
          "--cache --force)",
          a);
    }
  }
  if (o.heads % o.kv_heads != 0) fail("--heads {} is not a multiple of --kv-heads {}", o.heads, o.kv_heads);
  return o;
}

struct Timing {
  double ms = 0.0;  // per run (median)
  std::string kernel;
  bool timestamps = false;
};

// Times attention of the last m positions of a `depth`-long sequence against its whole cache.
Timing time_attention(Backend& backend, const Options& o, int64_t m, int64_t depth) {
  testing::CaseRng rng(uint64_t(depth * 31 + m));
  testing::CaseGraph g;
  const int64_t row = o.kv_heads * o.head_dim;
  std::vector<int32_t> kv_pos(static_cast<size_t>(depth)), q_pos(static_cast<size_t>(m));
  std::iota(kv_pos.begin(), kv_pos.end(), 0);
  std::iota(q_pos.begin(), q_pos.end(), int32_t(depth - m));
  const TensorId q = testing::add_float_input(g, "q", DType::F32, {m, o.heads, o.head_dim},
                                              rng.floats(size_t(m * o.heads * o.head_dim)));
  const Shape cache_shape{depth, o.kv_heads, o.head_dim};
  const TensorId k = testing::add_state(g, backend, "k", o.cache, cache_shape, rng.floats(size_t(depth * row)));
  const TensorId v = testing::add_state(g, backend, "v", o.cache, cache_shape, rng.floats(size_t(depth * row)));
  AttentionParams params;
  params.scale = 1.0f / std::sqrt(float(o.head_dim));
  const TensorId y = g.graph.attention(q, k, v, testing::add_i32_input(g, "q_pos", q_pos),
                                       testing::add_i32_input(g, "kv_pos", kv_pos), params);
  g.graph.mark_output(y);
  const Plan plan = Plan::build(std::move(g.graph));
  PrepareOptions prep;
  prep.profile = true;
  std::unique_ptr<Executable> exe = backend.prepare(plan, prep);
  for (const auto& [id, data] : g.inputs) exe->set_input(id, data);
  exe->run();  // warm-up: pipeline JIT and first-touch page faults are not steady-state cost
  std::vector<double> device_ms, wall_ms;
  Timing t;
  for (int i = 0; i < o.iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    exe->run();
    wall_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    double sum = 0.0;
    std::string kernels;  // split-K decode runs two: "split_kv_f16+split_reduce"
    for (const DispatchTiming& d : exe->timings()) {
      sum += d.gpu_ms;
      kernels += (kernels.empty() ? "" : "+") + d.kernel;
    }
    t.kernel = kernels;
    device_ms.push_back(sum);
  }
  std::sort(device_ms.begin(), device_ms.end());
  std::sort(wall_ms.begin(), wall_ms.end());
  t.timestamps = device_ms[device_ms.size() / 2] > 0.0;
  t.ms = t.timestamps ? device_ms[device_ms.size() / 2] : wall_ms[wall_ms.size() / 2];
  if (t.kernel.empty()) t.kernel = backend.name();
  return t;
}

void run(const Options& o) {
  std::unique_ptr<Backend> backend = create_backend(o.backend, o.device);
  fmt::print("device: {} ({}); heads {} / kv heads {} x head_dim {}, {} cache; median of {} runs\n",
             backend->device_name(), backend->name(), o.heads, o.kv_heads, o.head_dim, dtype_name(o.cache), o.iters);
  fmt::print("{:>7} {:<8} {:>6} {:<34} {:>12} {:>14}\n", "depth", "phase", "rows", "kernel(s)", "ms/run", "us/token");
  for (int64_t depth : o.depths) {
    const int64_t chunk = std::min(o.chunk, depth);
    for (const auto& [phase, m] : {std::pair<const char*, int64_t>{"decode", 1}, {"prefill", chunk}}) {
      const Timing t = time_attention(*backend, o, m, depth);
      fmt::print("{:>7} {:<8} {:>6} {:<34} {:>12.3f} {:>14.2f}{}\n", depth, phase, m, t.kernel, t.ms,
                 t.ms * 1e3 / double(m), t.timestamps ? "" : "  (wall)");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return vkgraph::bench_tools::bench_main("vkgraph_bench_attention", argc, argv, parse, run);
}
