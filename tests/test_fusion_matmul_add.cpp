// The matmul + residual fusion (matmul_add): when the pass applies, and that the fused plan gives
// the unfused plan's results on the CPU reference and on Vulkan.
#include <catch2/catch_test_macros.hpp>

#include <cmath>
#include <span>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/graph/plan.h"
#include "engine/testing/case_data.h"
#include "tests/closeness_checks.h"
#include "tests/op_case_support.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

// A decode residual block: h = x + o(x), out = h + down(h) (the residual on the right, then the
// left), for `tokens` tokens, q4_0 weights.
testing::CaseGraph residual_block(Backend& backend, int64_t tokens) {
  constexpr int64_t n = 96;
  testing::CaseRng rng(uint64_t(tokens) * 7 + 1);
  testing::CaseGraph g;
  const TensorId x = testing::add_float_input(g, "x", DType::F32, {tokens, n}, rng.floats(size_t(tokens * n)));
  const TensorId wo = testing::add_weight(g, backend, "wo", DType::Q4_0, {n, n}, rng.floats(size_t(n * n)));
  const TensorId wd = testing::add_weight(g, backend, "wd", DType::Q8_0, {n, n}, rng.floats(size_t(n * n)));
  const TensorId h = g.graph.add(g.graph.matmul(wo, x), x);
  const TensorId out = g.graph.add(h, g.graph.matmul(wd, h));
  g.graph.mark_output(out);
  g.outputs.push_back(out);
  return g;
}

std::vector<float> run(Backend& backend, const testing::CaseGraph& cg, bool fuse) {
  PlanOptions options;
  options.fuse = fuse;
  const Plan plan = Plan::build(cg.graph, options);
  auto exe = backend.prepare(plan);
  for (const auto& [id, data] : cg.inputs) exe->set_input(id, data);
  exe->run();
  std::vector<float> out(size_t(element_count(plan.graph().node(cg.outputs[0]).shape)));
  exe->read_output(cg.outputs[0], std::as_writable_bytes(std::span(out)));
  return out;
}

}  // namespace

TEST_CASE("fusion turns a one-token matmul + residual into matmul_add", "[graph][passes]") {
  cpu::CpuBackend cpu;
  const testing::CaseGraph one = residual_block(cpu, 1);
  const Plan plan = Plan::build(one.graph);
  CHECK(test::step_ops(plan) == std::vector<OpKind>{OpKind::matmul_add, OpKind::matmul_add});
  const Node& last = plan.graph().node(one.outputs[0]);
  REQUIRE(last.inputs.size() == 3);
  CHECK(plan.graph().node(last.inputs[0]).name == "wd");  // w, x, residual
  CHECK(last.inputs[2] == last.inputs[1]);                // h is both the activations and the residual

  PlanOptions no_fuse;
  no_fuse.fuse = false;
  CHECK(Plan::build(one.graph, no_fuse).steps().size() == 4);

  SECTION("several tokens keep matmul then add") {
    const testing::CaseGraph seven = residual_block(cpu, 7);
    CHECK(test::step_ops(Plan::build(seven.graph)) ==
          std::vector<OpKind>{OpKind::matmul, OpKind::add, OpKind::matmul, OpKind::add});
  }
  SECTION("a product read twice or a broadcast residual is not fused") {
    Graph g;
    const TensorId x = g.input("x", DType::F32, {1, 32});
    const TensorId w = g.weight("w", DType::F32, {32, 32}, cpu.upload(std::vector<std::byte>(32 * 32 * 4)));
    const TensorId p = g.matmul(w, x);
    g.mark_output(g.add(p, p));
    g.mark_output(g.add(g.matmul(w, x), g.input("b", DType::F32, {32})));
    CHECK(test::step_ops(Plan::build(g)) ==
          std::vector<OpKind>{OpKind::matmul, OpKind::add, OpKind::matmul, OpKind::add});
  }
}

TEST_CASE("matmul_add gives the unfused results on the CPU reference", "[graph][passes]") {
  cpu::CpuBackend cpu;
  const testing::CaseGraph g = residual_block(cpu, 1);
  // The same f32 sum plus the same f32 residual: bit-identical.
  CHECK(run(cpu, g, true) == run(cpu, g, false));
}

TEST_CASE("matmul_add gives the unfused results on Vulkan", "[vulkan][ops]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  vk::VulkanBackend vulkan(ctx);
  cpu::CpuBackend cpu;
  const testing::CaseGraph vg = residual_block(vulkan, 1);
  const testing::CaseGraph cg = residual_block(cpu, 1);
  const std::vector<float> fused = run(vulkan, vg, true);
  const std::vector<float> unfused = run(vulkan, vg, false);
  const std::vector<float> reference = run(cpu, cg, false);
  REQUIRE(fused.size() == reference.size());
  // Same kernel body, the residual added to the same f32 sum: the fused and unfused Vulkan
  // results agree to rounding; the CPU sums in double, so allow f32 accumulation error there.
  // A missing or doubled residual moves an output by its own size (~1).
  CHECK_CLOSE(testing::elementwise_close(fused, unfused, 1e-6, 1e-6));
  CHECK_CLOSE(testing::elementwise_close(fused, reference, 1e-4, 1e-4));
}
