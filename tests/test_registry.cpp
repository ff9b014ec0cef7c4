// The engine's backend registry: devices of every backend as one kind of record, selectors that
// name them, descriptions, and what a backend says it supports (ops and types, fused ops).

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/graph/plan.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

std::vector<DeviceRecord> of_backend(const std::vector<DeviceRecord>& all, const std::string& backend) {
  std::vector<DeviceRecord> out;
  for (const DeviceRecord& d : all) {
    if (d.backend == backend) out.push_back(d);
  }
  return out;
}

// One token through rms_norm * w, silu(gate) * up and matmul + residual: each a fusion candidate.
Graph fusable_graph() {
  Graph g;
  const TensorId x = g.input("x", DType::F32, {1, 64});
  const TensorId w = g.input("w", DType::F32, {64});
  const TensorId wm = g.input("wm", DType::F32, {64, 64});
  const TensorId norm = g.mul(g.rms_norm(x, 1e-5f), w);
  const TensorId act = g.mul(g.silu(norm), x);
  g.mark_output(g.add(g.matmul(wm, act), x));
  return g;
}

std::vector<OpKind> plan_ops(const Plan& plan) {
  std::vector<OpKind> ops;
  for (const Step& s : plan.steps()) ops.push_back(plan.graph().node(s.node).op);
  return ops;
}

bool has_op(const std::vector<OpKind>& ops, OpKind op) { return std::find(ops.begin(), ops.end(), op) != ops.end(); }

}  // namespace

TEST_CASE("registry: every backend's devices as records, the default backend named once", "[registry]") {
  CHECK(default_backend_name() == backend_names().front());
  const std::vector<DeviceRecord> all = list_devices();
  // Vulkan's devices (lavapipe here), then CUDA's record, then the CPU: the order of preference.
  const std::vector<DeviceRecord> vulkan = of_backend(all, "vulkan");
  REQUIRE(!vulkan.empty());
  CHECK(all.front().backend == "vulkan");
  CHECK(all.back().backend == "cpu");
  for (const DeviceRecord& d : vulkan) {
    INFO(d.selector());
    CHECK(d.available);
    CHECK(!d.name.empty());
    CHECK(!d.property("driver").empty());
    CHECK(!d.property("api_version").empty());
  }
  CHECK(std::count_if(vulkan.begin(), vulkan.end(), [](const DeviceRecord& d) { return d.is_default; }) == 1);
  const std::vector<DeviceRecord> cuda = of_backend(all, "cuda");
  REQUIRE(cuda.size() >= 1);
  if (!cuda.front().available) {
    CHECK(cuda.size() == 1);  // one record saying why
    CHECK(!cuda.front().reason.empty());
  }
  const std::vector<DeviceRecord> cpu = of_backend(all, "cpu");
  REQUIRE(cpu.size() == 1);
  CHECK(cpu[0].selector() == "cpu:0");
  CHECK_THAT(cpu[0].name, ContainsSubstring("threads"));
}

TEST_CASE("registry: selectors name devices across backends", "[registry]") {
  const DeviceRecord first = list_devices("vulkan").front();
  REQUIRE(first.available);
  CHECK(resolve_devices("vulkan:" + std::to_string(first.index)).front().name == first.name);
  CHECK(resolve_devices(std::to_string(first.index)).front().backend == default_backend_name());
  CHECK(resolve_devices("vulkan").size() == 1);  // the default device
  CHECK(resolve_devices("vulkan:all").size() == list_devices("vulkan").size());
  CHECK(resolve_devices("cpu").front().backend == "cpu");
  const std::vector<DeviceRecord> all = resolve_devices("all");
  CHECK(all.size() >= 2);  // a Vulkan device and the CPU at least
  CHECK(all.back().backend == "cpu");
  // A name substring, any case, across backends.
  const std::string word = first.name.substr(0, 4);
  const std::vector<DeviceRecord> named = resolve_devices(word);
  CHECK(std::any_of(named.begin(), named.end(), [&](const DeviceRecord& d) { return d.name == first.name; }));
  // Nothing named: an error naming the selector and listing what there is.
  CHECK_THROWS_WITH(resolve_devices("vulkan:99"), ContainsSubstring("vulkan:99") && ContainsSubstring(first.name));
  CHECK_THROWS_WITH(resolve_devices("no-such-gpu-42"),
                    ContainsSubstring("no-such-gpu-42") && ContainsSubstring("cpu:0"));
  CHECK_THROWS_WITH(resolve_devices("vulcan:0"), ContainsSubstring("unknown backend \"vulcan\""));
}

TEST_CASE("registry: a device is described and created from its record", "[registry]") {
  auto ctx = test::vulkan_context();  // skips without a Vulkan device
  const DeviceRecord device = list_devices("vulkan").front();
  const std::string text = describe_device(device);
  CHECK_THAT(text, ContainsSubstring(device.name));
  CHECK_THAT(text, ContainsSubstring("subgroup size"));
  const std::unique_ptr<Backend> backend = create_backend(device);
  CHECK(backend->name() == "vulkan");
  const DeviceRecord own = backend->device_record();
  CHECK(own.name == device.name);
  CHECK(own.property("driver") == device.property("driver"));
  CHECK_THAT(describe_device(list_devices("cpu").front()), ContainsSubstring("threads"));
}

TEST_CASE("registry: a backend says which ops and types it runs", "[registry]") {
  auto ctx = test::vulkan_context();
  const std::unique_ptr<Backend> vulkan = create_backend("vulkan");
  CHECK(vulkan->supports(OpKind::matmul, DType::Q4_0));
  CHECK(vulkan->supports(OpKind::attention, DType::F16));
  // No Vulkan kernel multiplies i32 weights or reads a quantized cache.
  CHECK_FALSE(vulkan->supports(OpKind::matmul, DType::I32));
  CHECK_FALSE(vulkan->supports(OpKind::attention, DType::Q8_0));
  const std::unique_ptr<Backend> cpu = create_backend("cpu");
  CHECK(cpu->supports(OpKind::matmul, DType::Q4_0));
  // Its kernel choice names a row of the table and why.
  Graph g;
  const TensorId w = g.input("w", DType::F32, {8, 32});
  const TensorId y = g.matmul(w, g.input("x", DType::F32, {1, 32}));
  const std::optional<KernelChoice> choice = vulkan->kernel_choice(g, g.node(y));
  REQUIRE(choice.has_value());
  CHECK_THAT(choice->kernel, ContainsSubstring("matmul/"));
  CHECK(choice->path == "portable");  // f32 weights have no cooperative-matrix row
  CHECK(!choice->why.empty());
  CHECK_FALSE(cpu->kernel_choice(g, g.node(y)).has_value());
}

TEST_CASE("registry: fusion makes only the fused ops the backend has", "[registry][passes]") {
  // Every fused op: the three candidates fuse.
  const std::vector<OpKind> all = plan_ops(Plan::build(fusable_graph()));
  CHECK(has_op(all, OpKind::rms_norm_mul));
  CHECK(has_op(all, OpKind::swiglu));
  CHECK(has_op(all, OpKind::matmul_add));
  // A backend without fused ops gets the plain ones.
  PlanOptions none;
  none.fused_ops = {};
  const std::vector<OpKind> plain = plan_ops(Plan::build(fusable_graph(), none));
  CHECK_FALSE(has_op(plain, OpKind::rms_norm_mul));
  CHECK_FALSE(has_op(plain, OpKind::swiglu));
  CHECK_FALSE(has_op(plain, OpKind::matmul_add));
  CHECK(has_op(plain, OpKind::rms_norm));
  CHECK(has_op(plain, OpKind::silu));
  // One without the residual epilogue keeps matmul + add and fuses the rest.
  PlanOptions some;
  some.fused_ops = {OpKind::rms_norm_mul, OpKind::swiglu};
  const std::vector<OpKind> partial = plan_ops(Plan::build(fusable_graph(), some));
  CHECK(has_op(partial, OpKind::rms_norm_mul));
  CHECK_FALSE(has_op(partial, OpKind::matmul_add));
  CHECK(has_op(partial, OpKind::add));
  // The CPU reference has all of them but the LoRA norm, whose unfused ops it is the reference
  // for (cpu_backend.h); Vulkan has that one.
  CHECK(create_backend("cpu")->fused_ops() == fused_op_kinds_except(OpKind::rms_norm_low_rank));
  CHECK(fused_op_kinds_except(OpKind::rms_norm_low_rank).size() + 1 == fused_op_kinds().size());
}
