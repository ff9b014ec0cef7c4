// The first kernel end to end: memory, pipeline with a specialization constant, push constants,
// recording, replay and timestamps, checked element by element against the CPU.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstring>
#include <random>
#include <vector>

#include "engine/backend/vulkan/command.h"
#include "engine/backend/vulkan/memory.h"
#include "engine/backend/vulkan/pipeline.h"
#include "engine/backend/vulkan/probe_kernels.h"
#include "engine/backend/vulkan/push/probe.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

// Floats past the end of each output that the kernel must leave alone.
constexpr uint32_t kGuard = 64;
constexpr float kSentinel = -12345.5f;

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-100.0f, 100.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::span<const std::byte> bytes_of(const std::vector<float>& v) { return std::as_bytes(std::span(v)); }

struct VectorAdd {
  std::shared_ptr<vk::Context> ctx;
  uint32_t n;
  vk::Buffer a, b, c;
  const vk::Pipeline* pipeline;

  VectorAdd(std::shared_ptr<vk::Context> context, uint32_t length, uint32_t workgroup)
      : ctx(std::move(context)), n(length) {
    vk::MemoryAllocator& mem = ctx->memory();
    a = mem.allocate(n * 4ull, "a");
    b = mem.allocate(n * 4ull, "b");
    c = mem.allocate((n + kGuard) * 4ull, "c");
    pipeline = &ctx->pipelines().get({vk::kVectorAddShader, {workgroup}, 3, sizeof(vk::ProbeCountPush)});
  }

  // Uploads x and y as the inputs and fills c and its guard with sentinels.
  void upload(const std::vector<float>& x, const std::vector<float>& y) {
    ctx->memory().upload(a, 0, bytes_of(x));
    ctx->memory().upload(b, 0, bytes_of(y));
    ctx->memory().upload(c, 0, bytes_of(std::vector<float>(n + kGuard, kSentinel)));
  }

  // Records c = a + b; the output binding includes the guard region so a stray write would land
  // there (instead of being clipped by the descriptor range).
  void record(vk::Sequence& seq, uint32_t workgroup) {
    seq.begin();
    seq.bind(*pipeline);
    seq.bind_buffers({a.range(), b.range(), c.range()});
    seq.push(vk::ProbeCountPush{n});
    seq.begin_region("vector_add");
    seq.dispatch(std::min<uint32_t>((n + workgroup - 1) / workgroup, 65535));
    seq.end_region();
    seq.end();
  }
};

void check_result(VectorAdd& op, const std::vector<float>& x, const std::vector<float>& y) {
  std::vector<float> out(op.n + kGuard);
  op.ctx->memory().download(op.c, 0, std::as_writable_bytes(std::span(out)));
  size_t wrong = 0;
  for (uint32_t i = 0; i < op.n; ++i) {
    if (out[i] != x[i] + y[i]) ++wrong;  // one f32 add: bit-exact on any IEEE device
  }
  CHECK(wrong == 0);
  size_t guard_hits = 0;
  for (uint32_t i = op.n; i < op.n + kGuard; ++i) {
    if (out[i] != kSentinel) ++guard_hits;
  }
  CHECK(guard_hits == 0);
}

// One recording, one run of c = x + y, checked.
void run_once(VectorAdd& op, uint32_t workgroup, const std::vector<float>& x, const std::vector<float>& y) {
  op.upload(x, y);
  vk::Sequence seq(op.ctx, 1);
  op.record(seq, workgroup);
  seq.submit_and_wait();
  check_result(op, x, y);
}

}  // namespace

TEST_CASE("vulkan vector add matches the CPU for odd lengths", "[vulkan][runtime]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  for (uint32_t n : {1u, 7u, 64u, 1000u, 1000003u}) {
    for (uint32_t workgroup : {64u, 256u}) {
      INFO("n = " << n << ", workgroup = " << workgroup);
      VectorAdd op(ctx, n, workgroup);
      run_once(op, workgroup, random_floats(n, n), random_floats(n, n + 1));
    }
  }
}

TEST_CASE("vulkan vector add grid-strides past the dispatch size", "[vulkan][runtime]") {
  // 65535 workgroups of 8 cover 524280 floats; the rest must come from the stride loop.
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  const uint32_t n = 600001, workgroup = 8;
  VectorAdd op(ctx, n, workgroup);
  run_once(op, workgroup, random_floats(n, 5), random_floats(n, 6));
}

TEST_CASE("vulkan sequence records once and replays with new inputs", "[vulkan][runtime]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  const uint32_t n = 4099, workgroup = 128;
  VectorAdd op(ctx, n, workgroup);
  vk::Sequence seq(ctx, 1);
  op.record(seq, workgroup);
  for (uint32_t round = 0; round < 3; ++round) {
    INFO("replay " << round);
    const std::vector<float> x = random_floats(n, 100 + round), y = random_floats(n, 200 + round);
    op.upload(x, y);  // c back to sentinels too: each replay must write it anew
    seq.submit_and_wait();
    check_result(op, x, y);
  }
  CHECK(seq.submit_count() == 3);

  const std::vector<vk::RegionTiming> timings = seq.timings();
  if (!ctx->has(vk::Feature::timestamps)) {
    CHECK(timings.empty());
    SKIP("device has no timestamp queries on its compute queue");
  }
  REQUIRE(timings.size() == 1);
  CHECK(timings[0].label == "vector_add");
  CHECK(timings[0].ms > 0.0);
  CHECK(timings[0].ms < 10000.0);
}

TEST_CASE("vulkan pipelines are cached by shader and specialization constants", "[vulkan][runtime]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  vk::PipelineCache& cache = ctx->pipelines();
  const vk::Pipeline& p64 = cache.get({vk::kVectorAddShader, {64}, 3, 4});
  const size_t count = cache.pipeline_count();
  const vk::Pipeline& again = cache.get({vk::kVectorAddShader, {64}, 3, 4});
  CHECK(&again == &p64);
  CHECK(cache.pipeline_count() == count);
  const vk::Pipeline& p32 = cache.get({vk::kVectorAddShader, {32}, 3, 4});
  CHECK(&p32 != &p64);
  CHECK(p32.pipeline != p64.pipeline);
  CHECK(cache.pipeline_count() == count + 1);
  CHECK(p32.compile_ms > 0.0);
  CHECK(cache.total_compile_ms() >= p32.compile_ms);

  CHECK_THROWS_WITH(cache.get({"probe/no_such_shader", {}, 1, 0}), Catch::Matchers::ContainsSubstring("not embedded"));
  CHECK_THROWS_WITH(cache.get({vk::kVectorAddShader, {64}, 3, ctx->info().max_push_constants_size + 4}),
                    Catch::Matchers::ContainsSubstring("push constants"));
}

TEST_CASE("vulkan vector add through staged memory matches the CPU", "[vulkan][runtime]") {
  // The discrete-GPU path: unmapped device memory, staging copies around the kernel, and the
  // barriers between them.
  vk::DeviceRequest request;
  request.validation = true;
  request.force_staging = true;
  auto ctx = vk::Context::create(request);
  test::ValidationGuard guard;
  REQUIRE_FALSE(ctx->memory().host_visible());
  const uint32_t n = 1000003, workgroup = 256;
  VectorAdd op(ctx, n, workgroup);
  const std::vector<float> x = random_floats(n, 11), y = random_floats(n, 12);
  ctx->memory().upload(op.a, 0, bytes_of(x));
  ctx->memory().upload(op.b, 0, bytes_of(y));
  ctx->memory().upload(op.c, 0, bytes_of(std::vector<float>(n + kGuard, kSentinel)));
  vk::Sequence seq(ctx, 1);
  op.record(seq, workgroup);
  seq.submit_and_wait();
  check_result(op, x, y);
}
