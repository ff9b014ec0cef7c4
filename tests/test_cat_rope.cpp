// A one-token step's q/k/v products, the rope of q and k and that rope's KV-cache writes: on a
// CPU-class device one dispatch (engine/backend/vulkan/lowering_cat_rope.cpp), elsewhere, and
// whenever a test forces the separate rows, the product's dispatch and the rope's. Both must give
// the same bits: steps of several tokens (the verification of drafted tokens) keep the separate
// rope, and a sequence's cached keys must not depend on which ran (docs/serving.md).

#include <fmt/format.h>
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/backend/vulkan/executable_vulkan.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/core/error.h"
#include "engine/graph/plan.h"
#include "engine/testing/op_cases.h"
#include "tests/forced_rows.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

struct CaseRun {
  std::vector<std::vector<std::byte>> outputs;  // in CaseGraph::outputs order
  size_t dispatches = 0;
  bool combined = false;  // a matmul_cat ran the kernel that also rotates and writes
};

CaseRun run_case(const testing::OpCase& c) {
  auto backend = create_backend("vulkan");
  testing::CaseGraph cg = c.build(*backend);
  const Plan plan = Plan::build(std::move(cg.graph), backend->plan_options());
  auto exe = backend->prepare(plan);
  for (const auto& [id, bytes] : cg.inputs) exe->set_input(id, bytes);
  exe->run();
  CaseRun run;
  for (TensorId id : cg.outputs) {
    const Node& out = plan.graph().node(id);
    run.outputs.emplace_back(size_t(element_count(out.shape)) * dtype_info(out.dtype).block_bytes);
    exe->read_output(id, run.outputs.back());
  }
  const auto& vulkan = dynamic_cast<const vk::VulkanExecutable&>(*exe);
  run.dispatches = vulkan.dispatches().size();
  run.combined = vulkan.describe_dispatches(false).find("matmul/rows_cat_rope_") != std::string::npos;
  return run;
}

// Whether this device has the combined row for weights of `w_type` (a CPU-class device).
bool has_cat_rope_row(DType w_type) {
  auto ctx = test::vulkan_context();
  try {
    vk::select_kernel_row(ctx->info(), {OpKind::matmul_cat, w_type, DType::F32, vk::KernelForm::vector_rope});
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

TEST_CASE(
    "cat rope: a one-token step's products and rope with its cache writes give the separate kernels' bits (vulkan)",
    "[vulkan][kernels]") {
  test::ValidationGuard guard;
  size_t compared = 0;
  for (const testing::OpCase& c : testing::op_cases()) {
    if (c.name.rfind("matmul_cat+rope+kv_write", 0) != 0) continue;
    if (dtype_info(c.weight).vulkan == vk_none) continue;  // no Vulkan kernels for this type
    INFO(c.name);
    const CaseRun combined = run_case(c);
    CaseRun separate;
    {
      // The plain row of the product, forced, keeps the rope's own dispatch.
      const vk::ForcedKernels force({fmt::format("matmul/rows_cat_{}_f32", dtype_name(c.weight))});
      separate = run_case(c);
    }
    CHECK_FALSE(separate.combined);
    if (has_cat_rope_row(c.weight)) {
      CHECK(combined.combined);
      CHECK(combined.dispatches + 1 == separate.dispatches);
    }
    REQUIRE(combined.outputs.size() == 3);  // q rotated, the key and value caches
    REQUIRE(separate.outputs.size() == combined.outputs.size());
    for (size_t i = 0; i < combined.outputs.size(); ++i) {
      INFO("output " << i);
      REQUIRE(combined.outputs[i].size() == separate.outputs[i].size());
      CHECK(std::memcmp(combined.outputs[i].data(), separate.outputs[i].data(), combined.outputs[i].size()) == 0);
    }
    ++compared;
  }
  CHECK(compared >= 15);
}

TEST_CASE("cat rope: the combined rows pass every projection case on this device when forced", "[vulkan][kernels]") {
  test::ValidationGuard guard;
  // Every weight type's case through its combined row (against the CPU reference), and the
  // variants (pairings, the ring, factors, head_dim 80) through Q4_0's and F16's.
  CHECK(test::check_forced_row_cases("matmul/rows_cat_rope_q4_0_f32", "matmul_cat") >= 6);
  CHECK(test::check_forced_row_cases("matmul/rows_cat_rope_f16_f32", "matmul_cat") >= 6);
  CHECK(test::check_forced_row_cases("matmul/rows_cat_rope_q6_k_f32", "matmul_cat") >= 1);
}
