// `vkgraph test-ops`: runs every op case on a backend against the CPU reference and ends with
// the plain line "N passed, M failed" (exit 1 if any failed). With --kernel, one row (or every
// row of a shader) of the Vulkan kernel table is forced and run on the cases it can run.

#include <cstdio>

#include <fmt/format.h>

#include "cli/command.h"
#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "engine/testing/case_backend.h"
#include "engine/testing/kernel_cases.h"
#include "engine/testing/op_cases.h"

namespace vkgraph::cli {
namespace {

struct TestOpsOptions {
  std::string backend;  // "" = vulkan when built in, else cpu
  std::string device;
  std::string op;
  std::string kernel;
  bool list_kernels = false;
  bool failures_only = false;
};

void print(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

int list_kernels() {
  for (const testing::KernelRowText& row : testing::kernel_rows()) {
    print(fmt::format("{:<44} {:<36} {:<18} {}", row.name, row.key, row.family, row.launch));
  }
  return 0;
}

int run_kernel(const TestOpsOptions& o) {
  VKGRAPH_CHECK(o.backend.empty() || o.backend == "vulkan",
                "--kernel runs rows of the Vulkan kernel table; --backend {} has none", o.backend);
  size_t passed = 0, failed = 0, skipped = 0;
  testing::KernelRunOptions options;
  options.device = o.device;
  options.filter = o.op;  // --op narrows the cases a forced row runs on
  testing::run_kernel_cases(o.kernel, options, [&](const testing::KernelRun& run, const testing::KernelCaseResult* c) {
    if (c != nullptr) {
      if (!o.failures_only || !c->result.passed) print(testing::format_case_result(c->result));
      return;
    }
    if (!run.skipped.empty()) {
      ++skipped;
      print(fmt::format("row {}: skipped on {}: {}", run.row.name, run.device, run.skipped));
      return;
    }
    if (run.cases.empty()) {
      print(fmt::format("FAIL row {}: no op case runs this row", run.row.name));
    } else {
      print(fmt::format("row {} ({}, {}, {}): {} passed, {} failed\n    why: {}", run.row.name, run.row.key,
                        run.row.family, run.row.launch, run.passed, run.failed, run.row.why));
    }
    passed += run.passed;
    failed += run.failed;
  });
  print(fmt::format("{} passed, {} failed{}", passed, failed,
                    skipped > 0 ? fmt::format(" ({} rows skipped: the device cannot run them)", skipped) : ""));
  return failed == 0 ? 0 : 1;
}

int run_test_ops(const TestOpsOptions& o) {
  if (o.list_kernels) return list_kernels();
  if (!o.kernel.empty()) return run_kernel(o);
  // A backend that cannot run here (cuda without a driver) is an Error naming the reason.
  std::unique_ptr<Backend> under_test = testing::create_case_backend(o.backend, o.device);
  std::unique_ptr<Backend> reference = create_backend("cpu");
  print(fmt::format("testing {} ({}) against cpu", under_test->name(), under_test->device_name()));
  const testing::CaseSummary summary =
      testing::run_op_cases(*under_test, *reference, o.op, [&](const testing::CaseResult& r) {
        if (o.failures_only && r.passed) return;
        print(testing::format_case_result(r));
      });
  print(fmt::format("{} passed, {} failed", summary.passed, summary.failed));
  return summary.failed == 0 ? 0 : 1;
}

const CommandRegistration registration{
    "test-ops", "run every op case on a backend against the CPU reference", [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<TestOpsOptions>();
      app.add_option("--backend", o->backend,
                     "backend under test: vulkan, cuda or cpu (default: vulkan when built in, else cpu)");
      app.add_option("--device", o->device, "device of that backend (index or name substring)");
      app.add_option("--op", o->op, "only cases of this op (or whose name contains this text)");
      app.add_option("--kernel", o->kernel,
                     "force one row of the Vulkan kernel table (a row name, or a shader: each of its rows) and run "
                     "the cases it can run");
      app.add_flag("--list-kernels", o->list_kernels, "list the rows of the Vulkan kernel table: name, key, family");
      app.add_flag("--failures", o->failures_only, "print only failing cases");
      return [o] { return run_test_ops(*o); };
    }};

}  // namespace
}  // namespace vkgraph::cli
