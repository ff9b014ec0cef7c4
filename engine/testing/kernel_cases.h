#pragma once
// The workbench for one Vulkan kernel-table row at a time (`vkgraph test-ops --kernel`,
// `vkgraph bench --kernel`): every op case in which the row can run, run with that row forced on
// one device, checked against the CPU reference and, when asked, timed. Any row runs on any
// device that can run it, whether or not the table would choose it there.

#include <functional>
#include <string>
#include <vector>

#include "engine/testing/op_cases.h"

namespace vkgraph::testing {

// A row of the table as text.
struct KernelRowText {
  std::string name;    // vk::kernel_row_name: what --kernel takes
  std::string key;     // "matmul(q4_0, f32, vector)"
  std::string family;  // "matmul_rows"
  std::string when;    // "always", "cpu", "gpu", "int8_dot_fast"
  std::string launch;  // "workgroup 32, tile [32, 1, 1]"
  std::string why;
};

// Every row, in table order.
std::vector<KernelRowText> kernel_rows();

struct KernelCaseResult {
  CaseResult result;       // against the CPU reference; timing filled when timed
  double row_ms = 0.0;     // timed: mean time of the row's own dispatches (timestamps), else 0
  uint64_t row_bytes = 0;  // the row's dispatches' estimated bytes read per run
};

struct KernelRun {
  KernelRowText row;
  std::string device;   // the device's name
  std::string skipped;  // non-empty: why the device cannot run the row (nothing was run)
  std::vector<KernelCaseResult> cases;
  size_t passed = 0, failed = 0;
};

struct KernelRunOptions {
  std::string device;  // Vulkan device selector ("" = the default)
  int timed_runs = 0;  // > 0: time each case over this many runs
  std::string filter;  // only cases of this op or whose name contains it ("" = all)
};

// Runs every row `selector` names (a row name, a shader: all its rows, or "shader@when") and calls
// `reporter` after each case and after each row. A case counts only where the row really ran
// (split-K's reduce pass, for one, runs only in decodes long enough to be cut); a row that no
// case ran fails. Error when the selector names no row, or without a Vulkan backend.
using KernelReporter = std::function<void(const KernelRun& row, const KernelCaseResult* just_ran)>;
std::vector<KernelRun> run_kernel_cases(const std::string& selector, const KernelRunOptions& options,
                                        const KernelReporter& reporter);

}  // namespace vkgraph::testing
