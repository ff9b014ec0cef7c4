// `vkgraph test-ops`: runs every op case on a backend against the CPU reference and ends with
// the plain line "N passed, M failed" (exit 1 if any failed).

#include <cstdio>

#include <fmt/format.h>

#include "cli/command.h"
#include "engine/backend/registry.h"
#include "engine/testing/case_backend.h"
#include "engine/testing/op_cases.h"

namespace vkgraph::cli {
namespace {

struct TestOpsOptions {
  std::string backend;  // "" = vulkan when built in, else cpu
  std::string device;
  std::string op;
  bool failures_only = false;
};

int run_test_ops(const TestOpsOptions& o) {
  // A backend that cannot run here (cuda without a driver) is an Error naming the reason.
  std::unique_ptr<Backend> under_test = testing::create_case_backend(o.backend, o.device);
  std::unique_ptr<Backend> reference = create_backend("cpu");
  std::fputs(fmt::format("testing {} ({}) against cpu\n", under_test->name(), under_test->device_name()).c_str(),
             stdout);
  std::fflush(stdout);
  const testing::CaseSummary summary =
      testing::run_op_cases(*under_test, *reference, o.op, [&](const testing::CaseResult& r) {
        if (o.failures_only && r.passed) return;
        std::fputs((testing::format_case_result(r) + "\n").c_str(), stdout);
        std::fflush(stdout);
      });
  std::fputs(fmt::format("{} passed, {} failed\n", summary.passed, summary.failed).c_str(), stdout);
  return summary.failed == 0 ? 0 : 1;
}

const CommandRegistration registration{
    "test-ops", "run every op case on a backend against the CPU reference", [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<TestOpsOptions>();
      app.add_option("--backend", o->backend,
                     "backend under test: vulkan, cuda or cpu (default: vulkan when built in, else cpu)");
      app.add_option("--device", o->device, "device of that backend (index or name substring)");
      app.add_option("--op", o->op, "only cases of this op (or whose name contains this text)");
      app.add_flag("--failures", o->failures_only, "print only failing cases");
      return [o] { return run_test_ops(*o); };
    }};

}  // namespace
}  // namespace vkgraph::cli
