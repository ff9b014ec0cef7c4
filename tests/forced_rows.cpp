#include "tests/forced_rows.h"

#include <catch2/catch_test_macros.hpp>

#include "engine/testing/kernel_cases.h"

namespace vkgraph::test {

size_t check_forced_row_cases(const std::string& row, const std::string& filter) {
  testing::KernelRunOptions options;
  options.filter = filter;
  size_t ran_cases = 0;
  testing::run_kernel_cases(row, options, [&](const testing::KernelRun& run, const testing::KernelCaseResult* ran) {
    if (ran == nullptr) return;
    INFO(run.row.name << ": " << ran->result.name << " " << ran->result.error << " nmse " << ran->result.nmse);
    CHECK(ran->result.passed);
    ++ran_cases;
  });
  return ran_cases;
}

}  // namespace vkgraph::test
