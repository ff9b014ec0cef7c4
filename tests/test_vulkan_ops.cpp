// The op suite (engine/testing/op_cases.h) on the Vulkan test device against the CPU reference,
// under validation; weight types without Vulkan kernels must fail with the error that says so (the
// first case of each op and such type: the rest would repeat it). Every case is its own
// section named after it, so a failure names the op, types and shape; guard bands around every output catch
// out-of-bounds writes.
#include <catch2/catch_test_macros.hpp>

#include <set>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/testing/op_cases.h"
#include "tests/op_case_support.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

TEST_CASE("vulkan ops match the CPU reference", "[vulkan][ops]") {
  auto ctx = test::vulkan_context();
  vk::VulkanBackend vulkan(ctx);
  cpu::CpuBackend cpu;
  REQUIRE(!testing::op_cases().empty());
  std::set<std::pair<std::string, DType>> refused;
  for (const testing::OpCase& c : testing::op_cases()) {
    if (test::repeats_refusal(c, refused)) continue;
    DYNAMIC_SECTION(c.name) {
      test::ValidationGuard guard;
      const testing::CaseResult result = testing::run_op_case(c, vulkan, cpu);
      INFO(testing::format_case_result(result));
      test::check_vulkan_case_result(c, result);
    }
  }
}
