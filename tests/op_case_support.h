#pragma once
// Shared by the fusion and kernel tests: the ops a plan runs, and the op cases of some ops run
// on the test device against the CPU reference.

#include <fmt/format.h>
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/graph/plan.h"
#include "engine/testing/op_cases.h"
#include "tests/vulkan_test_support.h"

namespace vkgraph::test {

// The weight types whose Vulkan shaders include `family` (engine/core/weight_types.def).
inline std::vector<DType> vulkan_types(VulkanKernels family) {
  std::vector<DType> types;
  for (size_t i = 0; i < kDTypeCount; ++i) {
    if (dtype_info(DType(i)).vulkan & family) types.push_back(DType(i));
  }
  return types;
}

// "<w>_<x>" for every vk_matmul weight type and both activation types: the suffix of the matmul
// shader variants.
inline std::vector<std::string> matmul_variant_suffixes(VulkanKernels family = vk_matmul) {
  std::vector<std::string> names;
  for (DType w : vulkan_types(family)) {
    for (const char* x : {"f32", "f16"}) names.push_back(std::string(dtype_name(w)) + "_" + x);
  }
  return names;
}

// The op of each step, in order.
inline std::vector<OpKind> step_ops(const Plan& plan) {
  std::vector<OpKind> ops;
  for (const Step& s : plan.steps()) ops.push_back(plan.graph().node(s.node).op);
  return ops;
}

// Checks one op case's result on Vulkan: a match with the CPU reference, or, for a weight type
// that engine/core/weight_types.def gives no Vulkan kernels yet, the error that says so (the
// case must fail that way, not pass or fail otherwise).
inline void check_vulkan_case_result(const testing::OpCase& c, const testing::CaseResult& result) {
  if (dtype_info(c.weight).vulkan == vk_none) {
    INFO(testing::format_case_result(result));
    CHECK_FALSE(result.passed);
    // The key names the op the case lowers to (matmul_add of several tokens is a matmul) and the type.
    CHECK(result.error.find("no Vulkan kernel for ") != std::string::npos);
    CHECK(result.error.find(fmt::format("({}, ", dtype_name(c.weight))) != std::string::npos);
    CHECK(result.error.find(fmt::format("{} weights have no Vulkan kernels yet", dtype_name(c.weight))) !=
          std::string::npos);
    return;
  }
  CHECK(result.error.empty());
  CHECK(result.nmse <= c.max_nmse);
  CHECK(result.passed);
}

// Cases of a weight type without Vulkan kernels all end in the same refusal at prepare, after
// their weights are quantized and uploaded; the first of each op and type shows it, the rest are
// passed over (true) until the type's kernels exist, when every one of them runs.
inline bool repeats_refusal(const testing::OpCase& c, std::set<std::pair<std::string, DType>>& seen) {
  if (dtype_info(c.weight).vulkan != vk_none) return false;
  return !seen.emplace(c.op, c.weight).second;
}

// Runs every op case whose op is one of `ops` on the test device with the kernels the table
// chooses (or a vk::ForcedKernels in scope forces), each required to match the CPU reference
// and to be validation-clean (check_vulkan_case_result: types without Vulkan kernels must say
// so); `variant` names the run in failure messages. Returns how many ran.
inline size_t check_op_cases_on_vulkan(const std::vector<std::string>& ops, const std::string& variant) {
  auto ctx = vulkan_context();
  vk::VulkanBackend vulkan(ctx);
  cpu::CpuBackend cpu;
  size_t ran = 0;
  std::set<std::pair<std::string, DType>> refused;
  for (const testing::OpCase& c : testing::op_cases()) {
    if (std::find(ops.begin(), ops.end(), c.op) == ops.end() || repeats_refusal(c, refused)) continue;
    ++ran;
    ValidationGuard guard;
    const testing::CaseResult result = testing::run_op_case(c, vulkan, cpu);
    INFO(variant << ": " << testing::format_case_result(result));
    check_vulkan_case_result(c, result);
  }
  return ran;
}

}  // namespace vkgraph::test
