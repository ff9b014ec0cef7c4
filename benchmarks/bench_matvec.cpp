// vkgraph_bench_matvec: mat-vec (decode) throughput per weight type on one backend, for the
// matrix shapes of smollm2-135m (n_embd 576, n_ff 1536, vocab 49152). Reports per shape and
// weight type: the kernel that ran, its time per call (device timestamps when the device has
// them, else wall time per submitted run), the effective bandwidth as packed weight bytes per
// second (and per second of process CPU time, what counts on a CPU driver sharing its cores),
// and the bytes the kernel reads per token (the lowering's count of what the chosen
// kernel touches) against the packed weight size.
//
//   vkgraph_bench_matvec [--backend vulkan] [--device D] [--iters N] [--tokens M]
//                        [--type q4_0] [--n-out 49152] [--force shader[,shader...]]
// --tokens M > 1 measures the prefill (mat-mat) kernels instead. --force runs the named shader
// variants where the device can (e.g. matmul/matvec_q4_0_f32 for the portable mat-vec).

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/bench_main.h"
#include "engine/backend/registry.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/core/dtype.h"
#include "engine/core/error.h"
#include "engine/graph/plan.h"
#include "engine/testing/case_data.h"

namespace {

using namespace vkgraph;

struct Shape2 {
  int64_t n_out, n_in;
  const char* what;
};

// smollm2-135m: q/o projections, gate/up, down, the output head (k/v are 192 x 576).
constexpr Shape2 kShapes[] = {
    {576, 576, "attn q/o"},  {192, 576, "attn k/v"}, {1536, 576, "ffn gate/up"},
    {576, 1536, "ffn down"}, {49152, 576, "output"},
};
constexpr DType kTypes[] = {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0};

// CPU time of the whole process (all threads) in ms: on a CPU Vulkan driver (lavapipe) the work
// a kernel costs, independent of how busy the machine is; wall time is not when cores are shared.
double process_cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

struct Options {
  std::string backend = "vulkan";
  std::string device;
  int iters = 20;
  int64_t tokens = 1;
  std::vector<std::string> force;
  std::string only_type;   // --type q4_0: one weight type
  int64_t only_n_out = 0;  // --n-out 49152: one shape
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&] { return vkgraph::bench_tools::flag_value(argc, argv, i, a); };
    if (a == "--backend") {
      o.backend = value();
    } else if (a == "--device") {
      o.device = value();
    } else if (a == "--iters") {
      o.iters = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--tokens") {
      o.tokens = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--type") {
      o.only_type = value();
    } else if (a == "--n-out") {
      o.only_n_out = std::atoll(value().c_str());
    } else if (a == "--force") {
      std::string list = value();
      size_t start = 0;
      while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        if (comma > start) o.force.push_back(list.substr(start, comma - start));
        start = comma + 1;
      }
    } else {
      fail("unknown argument '{}' (known: --backend --device --iters --tokens --type --n-out --force)", a);
    }
  }
  return o;
}

// "reads ~N B" of the first dispatch in Executable::describe, 0 when not reported.
uint64_t reported_bytes_read(const std::string& text) {
  const size_t at = text.find("reads ~");
  return at == std::string::npos ? 0 : std::strtoull(text.c_str() + at + 7, nullptr, 10);
}

std::string kernel_name(const std::string& text) {
  const size_t arrow = text.find("-> ");
  if (arrow == std::string::npos) return "-";
  const size_t end = text.find(' ', arrow + 3);
  return text.substr(arrow + 3, end - arrow - 3);
}

void run(const Options& o) {
  std::unique_ptr<Backend> backend = create_backend(o.backend, o.device);
  fmt::print("device: {} ({}), tokens per call: {}, {} timed calls each\n", backend->device_name(), backend->name(),
             o.tokens, o.iters);
  fmt::print("{:<12} {:>13} {:<6} {:<26} {:>10} {:>9} {:>9} {:>9} {:>12} {:>12} {:>6}\n", "matrix", "n_out x n_in",
             "type", "kernel", "us/call", "GB/s", "cpu us", "GB/cpu-s", "read B/tok", "packed B", "ratio");
  for (const Shape2& s : kShapes) {
    if (o.only_n_out != 0 && s.n_out != o.only_n_out) continue;
    for (DType type : kTypes) {
      if (!o.only_type.empty() && o.only_type != dtype_name(type)) continue;
      testing::CaseRng rng(uint64_t(s.n_out * 1000003 + s.n_in));
      testing::CaseGraph g;
      const TensorId w =
          testing::add_weight(g, *backend, "w", type, {s.n_out, s.n_in}, rng.floats(size_t(s.n_out * s.n_in)));
      const TensorId x =
          testing::add_float_input(g, "x", DType::F32, {o.tokens, s.n_in}, rng.floats(size_t(o.tokens * s.n_in)));
      const TensorId y = g.graph.matmul(w, x);
      g.graph.mark_output(y);
      const Plan plan = Plan::build(std::move(g.graph));
      PrepareOptions prep;
      prep.profile = true;
      std::unique_ptr<Executable> exe = backend->prepare(plan, prep);
      for (const auto& [id, data] : g.inputs) exe->set_input(id, data);
      exe->run();  // warm-up: first-use costs (JIT, page faults) are not throughput
      std::vector<double> device_ms, wall_ms;
      const double cpu0 = process_cpu_ms();
      for (int i = 0; i < o.iters; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        exe->run();
        wall_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        double sum = 0.0;
        for (const DispatchTiming& t : exe->timings()) sum += t.gpu_ms;
        device_ms.push_back(sum);
      }
      const double cpu_ms = (process_cpu_ms() - cpu0) / o.iters;
      std::sort(device_ms.begin(), device_ms.end());
      std::sort(wall_ms.begin(), wall_ms.end());
      const double ms =
          device_ms[device_ms.size() / 2] > 0.0 ? device_ms[device_ms.size() / 2] : wall_ms[wall_ms.size() / 2];
      const uint64_t packed = uint64_t(s.n_out) * row_bytes(type, s.n_in);
      const std::string text = exe->describe(false);
      const uint64_t read = reported_bytes_read(text);
      fmt::print("{:<12} {:>6} x {:<5} {:<6} {:<26} {:>10.1f} {:>9.2f} {:>9.0f} {:>9.2f} {:>12} {:>12} {:>6.3f}\n",
                 s.what, s.n_out, s.n_in, dtype_name(type), kernel_name(text), ms * 1e3,
                 double(packed) / (ms * 1e-3) / 1e9, cpu_ms * 1e3, double(packed) / (cpu_ms * 1e-3) / 1e9,
                 read / uint64_t(o.tokens), packed, double(read) / double(o.tokens) / double(packed));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return vkgraph::bench_tools::bench_main("vkgraph_bench_matvec", argc, argv, parse, run);
}
