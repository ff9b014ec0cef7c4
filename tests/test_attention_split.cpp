// Split-K decode attention: how the cache is cut into chunks (a pure function of the shapes and
// the device), and on this device that a long decode really runs the split pass and the reduce
// pass with its scratch, while a short one stays one dispatch, both agreeing with the CPU
// reference. More values against the CPU reference: the attention op cases.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/vulkan/attention_split.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/executable_vulkan.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/graph/plan.h"
#include "engine/testing/case_data.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using namespace vkgraph::vk;
using Catch::Matchers::ContainsSubstring;

namespace {

DeviceInfo fake_device(VkPhysicalDeviceType type) {
  DeviceInfo d;
  d.name = "fake device";
  d.type = type;
  return d;
}

// Every slot is in exactly one chunk, chunks are whole workgroups of keys, none is empty.
void check_cover(const DecodeSplit& s, uint32_t n_slots) {
  CHECK(s.chunk_len % kSplitWorkgroup == 0);
  CHECK(uint64_t(s.chunk_len) * s.n_chunks >= n_slots);
  CHECK(uint64_t(s.chunk_len) * (s.n_chunks - 1) < std::max(n_slots, 1u));
}

struct DecodeRun {
  std::vector<float> out;
  std::vector<std::string> shaders;
  std::vector<uint64_t> groups;  // per dispatch, x * y
  std::string described;
};

// Decode of one row of 8 query heads over `n_slots` filled slots of `n_kv_head` kv heads
// (head_dim 64, f16 cache) on `backend`; on Vulkan, with the rows the kernel table picks and the
// dispatches they lowered to.
DecodeRun run_decode(Backend& backend, int64_t n_slots, int64_t n_kv_head) {
  testing::CaseRng rng{uint64_t(n_slots * 7 + n_kv_head)};
  testing::CaseGraph g;
  const int64_t d = 64, n_head = 8;
  const TensorId q = testing::add_float_input(g, "q", DType::F32, {1, n_head, d}, rng.floats(size_t(n_head * d)));
  const Shape cache{n_slots, n_kv_head, d};
  const TensorId k =
      testing::add_state(g, backend, "k", DType::F16, cache, rng.floats(size_t(n_slots * n_kv_head * d)));
  const TensorId v =
      testing::add_state(g, backend, "v", DType::F16, cache, rng.floats(size_t(n_slots * n_kv_head * d)));
  std::vector<int32_t> kv_pos(static_cast<size_t>(n_slots));
  std::iota(kv_pos.begin(), kv_pos.end(), 0);
  const TensorId y = g.graph.attention(q, k, v, testing::add_i32_input(g, "q_pos", {int32_t(n_slots - 1)}),
                                       testing::add_i32_input(g, "kv_pos", kv_pos), AttentionParams{0.125f, 0});
  g.graph.mark_output(y);
  const Plan plan = Plan::build(std::move(g.graph));
  std::unique_ptr<Executable> exe = backend.prepare(plan);
  DecodeRun r;
  if (auto* vulkan = dynamic_cast<VulkanExecutable*>(exe.get())) {
    for (const Dispatch& dispatch : vulkan->dispatches()) {
      r.shaders.emplace_back(dispatch.kernel->variant.shader);
      r.groups.push_back(uint64_t(dispatch.groups[0]) * dispatch.groups[1] * dispatch.groups[2]);
    }
    r.described = vulkan->describe_dispatches();
  }
  for (const auto& [id, data] : g.inputs) exe->set_input(id, data);
  r.out.resize(size_t(n_head * d));
  for (int i = 0; i < 2; ++i) exe->run();  // a replay must give the same result
  exe->read_output(y, std::as_writable_bytes(std::span(r.out)));
  return r;
}

// The largest difference; NaN (which fails every bound) when either side has a NaN.
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i]));
    if (!(d <= m)) m = d;  // a NaN difference replaces m and stays
    if (std::isnan(m)) return m;
  }
  return m;
}

// The bound between the Vulkan decode and the CPU reference, which read the same f16 cache: they
// differ only by summation order and the last bits of exp (f32, ~1e-7 relative per term over
// up to 4096 keys; outputs are averages of values in [-1, 1]). A lost or doubled chunk, a
// mis-scaled partial or a wrong chunk boundary moves outputs by 1e-2 or more.
constexpr double kDecodeBound = 1e-5;

}  // namespace

TEST_CASE("split-K decode: chunks follow the cache length and the device", "[attention][kernels][split]") {
  const DeviceInfo gpu = fake_device(VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU);
  const DeviceInfo cpu = fake_device(VK_PHYSICAL_DEVICE_TYPE_CPU);
  // Short caches: one chunk, so one dispatch and no reduce pass, on any device.
  for (uint32_t n_slots : {1u, 17u, 128u, 511u}) {
    for (const DeviceInfo* device : {&gpu, &cpu}) {
      const DecodeSplit s = choose_decode_split(1, 8, 2, n_slots, *device);
      CHECK(s.n_chunks == 1);
      check_cover(s, n_slots);
    }
  }
  // Long caches on a GPU: enough chunks for 256 workgroups, but none shorter than 256 slots.
  const DecodeSplit s4k = choose_decode_split(1, 8, 2, 4096, gpu);
  CHECK(s4k.heads_per_group == 4);
  CHECK(s4k.n_chunks == 16);
  CHECK(s4k.chunk_len == 256);
  CHECK(s4k.workgroups == 2 * 16);
  const DecodeSplit s16k = choose_decode_split(1, 32, 8, 16384, gpu);
  CHECK(s16k.workgroups >= 256);
  CHECK(s16k.n_chunks == 32);
  check_cover(s16k, 16384);
  check_cover(choose_decode_split(1, 8, 8, 1000, gpu), 1000);
  CHECK(choose_decode_split(1, 8, 8, 1000, gpu).n_chunks == 3);
  // Many heads already fill the device: the cache is not cut.
  CHECK(choose_decode_split(1, 256, 256, 4096, gpu).n_chunks == 1);
  // A CPU device asks for a few workgroups per core: a 4096-slot cache of one kv head is cut.
  const DecodeSplit cpu4k = choose_decode_split(1, 8, 1, 4096, cpu);
  CHECK(cpu4k.n_chunks > 1);
  check_cover(cpu4k, 4096);
  // Query heads per workgroup: the largest divisor of the GQA group up to 8.
  CHECK(choose_decode_split(1, 8, 8, 4096, gpu).heads_per_group == 1);
  CHECK(choose_decode_split(1, 32, 1, 4096, gpu).heads_per_group == 8);
  CHECK(choose_decode_split(1, 12, 1, 4096, gpu).heads_per_group == 6);
  CHECK(choose_decode_split(1, 14, 2, 4096, gpu).heads_per_group == 7);
}

TEST_CASE("split-K decode on this device: a long cache runs the split and reduce passes",
          "[vulkan][attention][split]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  VulkanBackend backend(ctx);
  const int64_t n_kv_head = 1;
  const DecodeSplit split = choose_decode_split(1, 8, uint32_t(n_kv_head), 4096, ctx->info());
  REQUIRE(split.n_chunks > 1);
  const DecodeRun run = run_decode(backend, 4096, n_kv_head);
  INFO(run.described);
  REQUIRE(run.shaders.size() == 2);
  CHECK(run.shaders[0] == "attention/split_kv_f16");
  CHECK(run.shaders[1] == "attention/split_reduce");
  CHECK(run.groups[0] == split.workgroups);  // 8 heads share one workgroup per chunk
  CHECK(run.groups[1] == 8);                 // one per (token, head)
  CHECK_THAT(run.described, ContainsSubstring("scratch"));
  cpu::CpuBackend cpu;
  CHECK(max_abs_diff(run.out, run_decode(cpu, 4096, n_kv_head).out) < kDecodeBound);
}

TEST_CASE("split-K decode on this device: a short cache is one dispatch", "[vulkan][attention][split]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  VulkanBackend backend(ctx);
  const DecodeRun run = run_decode(backend, 128, 2);
  INFO(run.described);
  REQUIRE(run.shaders.size() == 1);
  CHECK(run.shaders[0] == "attention/split_kv_f16");
  CHECK(run.groups[0] == 2);  // one per kv head: its 4 query heads share the K/V reads
  cpu::CpuBackend cpu;
  CHECK(max_abs_diff(run.out, run_decode(cpu, 128, 2).out) < kDecodeBound);
}
