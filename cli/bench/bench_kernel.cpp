#include "cli/bench/bench_kernel.h"

#include <fmt/format.h>

#include <cstdio>

#include "engine/core/error.h"
#include "engine/testing/kernel_cases.h"

namespace vkgraph::cli {

int bench_kernel(const std::string& selector, const std::string& device, int runs) {
  VKGRAPH_CHECK(runs > 0, "-r: --kernel needs at least one timed run (got {})", runs);
  testing::KernelRunOptions options;
  options.device = device;
  options.timed_runs = runs;
  size_t failed = 0;
  bool header = false;
  testing::run_kernel_cases(selector, options, [&](const testing::KernelRun& run, const testing::KernelCaseResult* c) {
    if (!header) {
      std::printf("kernel rows on %s, %d timed runs per case after a checked one\n\n", run.device.c_str(), runs);
      std::printf("| row | case | us/run | GB/s | nmse | ok |\n| --- | --- | ---: | ---: | ---: | --- |\n");
      header = true;
    }
    if (c == nullptr) {
      if (!run.skipped.empty()) {
        std::printf("| %s | skipped: %s | | | | |\n", run.row.name.c_str(), run.skipped.c_str());
      } else if (run.cases.empty()) {
        std::printf("| %s | no op case runs this row | | | | FAIL |\n", run.row.name.c_str());
        ++failed;
      }
      std::fflush(stdout);
      return;
    }
    // The row's own dispatches where the device has timestamps, else the whole run's wall time.
    const bool stamped = c->row_ms > 0.0;
    const double ms = stamped ? c->row_ms : c->result.timing.wall_ms;
    const double gbs = stamped && c->row_bytes > 0 ? double(c->row_bytes) / (ms * 1e-3) / 1e9 : 0.0;
    std::printf("| %s | %s | %.1f%s | %s | %.2e | %s |\n", run.row.name.c_str(), c->result.name.c_str(), ms * 1e3,
                stamped ? "" : " (wall)", gbs > 0.0 ? fmt::format("{:.2f}", gbs).c_str() : "", c->result.nmse,
                c->result.passed ? "ok" : ("FAIL " + c->result.error).c_str());
    if (!c->result.passed) ++failed;
    std::fflush(stdout);
  });
  return failed == 0 ? 0 : 1;
}

}  // namespace vkgraph::cli
