#pragma once
// Shared by the fusion and kernel tests: the ops a plan runs, and the op cases of some ops run
// on the test device against the CPU reference.

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/graph/plan.h"
#include "engine/testing/op_cases.h"
#include "tests/vulkan_test_support.h"

namespace vkgraph::test {

// The op of each step, in order.
inline std::vector<OpKind> step_ops(const Plan& plan) {
  std::vector<OpKind> ops;
  for (const Step& s : plan.steps()) ops.push_back(plan.graph().node(s.node).op);
  return ops;
}

// Runs every op case whose op is one of `ops` on the test device with the kernels the table
// chooses (or a vk::ForcedKernels in scope forces), each required to match the CPU reference
// and to be validation-clean; `variant` names the run in failure messages. Returns how many ran.
inline size_t check_op_cases_on_vulkan(const std::vector<std::string>& ops, const std::string& variant) {
  auto ctx = vulkan_context();
  vk::VulkanBackend vulkan(ctx);
  cpu::CpuBackend cpu;
  size_t ran = 0;
  for (const testing::OpCase& c : testing::op_cases()) {
    if (std::find(ops.begin(), ops.end(), c.op) == ops.end()) continue;
    ++ran;
    ValidationGuard guard;
    const testing::CaseResult result = testing::run_op_case(c, vulkan, cpu);
    INFO(variant << ": " << testing::format_case_result(result));
    CHECK(result.error.empty());
    CHECK(result.passed);
  }
  return ran;
}

}  // namespace vkgraph::test
