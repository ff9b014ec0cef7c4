// The cooperative-matrix emulation (shaders/common/coopmat_emulated.glsl) and the shape
// plumbing: every operation of the vocabulary executed on the real device at the shapes GPUs
// list, and the shape a device's list yields (device_coopmat.h). The op cases and model tests
// run the matmul and attention kernels through it (ctest entries coopmat_emulated_*).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/vulkan/command.h"
#include "engine/backend/vulkan/device_coopmat.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/memory.h"
#include "engine/backend/vulkan/pipeline.h"
#include "engine/backend/vulkan/probe_kernels.h"
#include "engine/backend/vulkan/push/probe.h"
#include "engine/core/fp16.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

vk::CoopMatShape f16_shape(uint32_t m, uint32_t n, uint32_t k) {
  vk::CoopMatShape s;
  s.m = m, s.n = n, s.k = k;
  return s;  // f16 x f16 + f32 -> f32, subgroup scope: the defaults
}

// A GPU with cooperative matrices at `shapes` (and what the coopmat rows need besides).
vk::DeviceInfo gpu_with(std::vector<vk::CoopMatShape> shapes, uint32_t subgroup) {
  vk::DeviceInfo d;
  d.name = "Fake GPU";
  d.type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  d.shader_int64 = true;  // every desktop GPU and lavapipe (the row kernels' 64-bit loads)
  d.shader_float16 = d.storage_buffer_16bit = true;
  d.subgroup_size = d.min_subgroup_size = d.max_subgroup_size = subgroup;
  d.subgroup_ops_in_compute = true;
  d.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT | VK_SUBGROUP_FEATURE_BALLOT_BIT |
                   VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  d.max_shared_memory = 49152;
  d.max_workgroup_invocations = 1024;
  d.extensions = {VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME};
  d.has_cooperative_matrix = true;
  d.vulkan_memory_model = true;  // cooperative-matrix modules use it
  d.coopmat_shapes = std::move(shapes);
  return d;
}

// Runs the emulated probe: c = round?(2 (a b + bias)) for a [m, k], b [k, n], at `shape`.
std::vector<float> run_probe(const std::shared_ptr<vk::Context>& ctx, const vk::CoopMatShape& shape, uint32_t m,
                             uint32_t n, uint32_t k, const std::vector<uint16_t>& a, const std::vector<uint16_t>& b,
                             bool round_f16, float bias) {
  vk::MemoryAllocator& mem = ctx->memory();
  vk::Buffer ab = mem.allocate(a.size() * 2, "a"), bb = mem.allocate(b.size() * 2, "b"),
             cb = mem.allocate(uint64_t(m) * n * 4, "c");
  mem.upload(ab, 0, std::as_bytes(std::span(a)));
  mem.upload(bb, 0, std::as_bytes(std::span(b)));
  const uint32_t lanes = ctx->info().subgroup_size;
  std::vector<uint32_t> spec = {lanes};
  vk::append_coopmat_constants(spec, shape, 1, ctx->info());  // one subgroup per workgroup
  const vk::Pipeline& pipeline =
      ctx->pipelines().get({vk::kCoopMatTileEmulatedShader, spec, 3, sizeof(vk::ProbeTilePush)});
  vk::Sequence seq(ctx, 1);
  seq.begin();
  seq.bind(pipeline);
  seq.bind_buffers({ab.range(), bb.range(), cb.range()});
  seq.push(vk::ProbeTilePush{m, n, k, round_f16 ? 1u : 0u, bias});
  seq.dispatch((m / shape.m) * (n / shape.n));
  seq.end();
  seq.submit_and_wait();
  std::vector<float> c(size_t(m) * n);
  mem.download(cb, 0, std::as_writable_bytes(std::span(c)));
  return c;
}

}  // namespace

TEST_CASE("VKGRAPH_EMULATE_COOPMAT shapes parse, and bad ones are named", "[vulkan][coopmat]") {
  const std::vector<vk::CoopMatShape> s = vk::parse_coopmat_shapes("16x16x16,8x8x16,8X16x16");
  REQUIRE(s.size() == 3);
  CHECK((s[1].m == 8 && s[1].n == 8 && s[1].k == 16));
  CHECK((s[2].m == 8 && s[2].n == 16 && s[2].k == 16));
  CHECK(s[0].a == VK_COMPONENT_TYPE_FLOAT16_KHR);
  CHECK(s[0].result == VK_COMPONENT_TYPE_FLOAT32_KHR);
  for (const char* bad : {"", "16x16", "16x16x16,", "16x16x16x16", "axbxc", "16x16x-8"}) {
    INFO(bad);
    CHECK_THROWS_WITH(vk::parse_coopmat_shapes(bad),
                      ContainsSubstring("VKGRAPH_EMULATE_COOPMAT") && ContainsSubstring("is not MxNxK"));
  }
  CHECK_THROWS_WITH(vk::parse_coopmat_shapes("16x16x32"),
                    ContainsSubstring("16x16x32") && ContainsSubstring("other than 8 or 16"));
}

TEST_CASE("coopmat kernels take the device's shape, not only 16x16x16", "[vulkan][coopmat]") {
  // NVIDIA (and AMD RDNA3) list 16x16x16 among others; Intel's ANV 8x8x16-style shapes, Xe2
  // 8x16x16; lavapipe 26 8x8x8. Each must get the coopmat prefill rows at its own shape (Intel
  // used to fall back to the portable rows because the rows asked for 16x16x16 exactly).
  struct Case {
    const char* name;
    std::vector<vk::CoopMatShape> list;
    uint32_t subgroup;
    vk::CoopMatShape expect;
  };
  vk::CoopMatShape i8 = f16_shape(16, 16, 32);
  i8.a = i8.b = VK_COMPONENT_TYPE_SINT8_KHR;
  i8.c = i8.result = VK_COMPONENT_TYPE_SINT32_KHR;
  vk::CoopMatShape f16_acc = f16_shape(16, 16, 16);
  f16_acc.c = f16_acc.result = VK_COMPONENT_TYPE_FLOAT16_KHR;
  const Case cases[] = {
      {"nvidia",
       {f16_shape(16, 8, 16), f16_shape(16, 8, 8), f16_acc, f16_shape(16, 16, 16), i8},
       32,
       f16_shape(16, 16, 16)},
      {"anv", {f16_acc, f16_shape(8, 8, 16), i8}, 8, f16_shape(8, 8, 16)},
      {"xe2", {f16_shape(8, 16, 16)}, 16, f16_shape(8, 16, 16)},
      {"lavapipe 26", {f16_shape(8, 8, 8)}, 8, f16_shape(8, 8, 8)},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const vk::DeviceInfo d = gpu_with(c.list, c.subgroup);
    const std::optional<vk::CoopMatShape> got = vk::device_coopmat_shape(d, false);
    REQUIRE(got.has_value());
    CHECK((got->m == c.expect.m && got->n == c.expect.n && got->k == c.expect.k));
    const vk::KernelRow& mm =
        vk::select_kernel_row(d, {OpKind::matmul, DType::Q4_0, DType::F32, vk::KernelForm::matrix});
    CHECK(std::string(mm.variant.shader) == "matmul/coopmat_q4_0_f32");
    const vk::KernelRow& at =
        vk::select_kernel_row(d, {OpKind::attention, DType::F16, DType::F32, vk::KernelForm::attention_tiled16});
    CHECK(std::string(at.variant.shader) == "attention/tiled_coopmat_kv_f16");
  }
  // Only shapes the kernels cannot tile by (f16 accumulation, int8, 16x16x32): the portable rows.
  const vk::DeviceInfo none = gpu_with({f16_acc, i8}, 32);
  CHECK_FALSE(vk::device_coopmat_shape(none, false).has_value());
  const vk::KernelRow& mm =
      vk::select_kernel_row(none, {OpKind::matmul, DType::Q4_0, DType::F32, vk::KernelForm::matrix});
  CHECK(std::string(mm.variant.shader).find("coopmat") == std::string::npos);
}

TEST_CASE("emulated cooperative matrices compute every operation at every shape", "[vulkan][coopmat]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  const vk::DeviceInfo& d = ctx->info();
  if (!d.shader_float16 || !d.storage_buffer_16bit || d.subgroup_size < 4) {
    SKIP("device '" << d.name << "' lacks f16 arithmetic, 16-bit storage or subgroups of 4+ for the emulation");
  }
  // Two tiles each way and two K steps, so offsets and strides of every load are exercised.
  for (const vk::CoopMatShape& shape :
       {f16_shape(16, 16, 16), f16_shape(8, 8, 16), f16_shape(8, 16, 16), f16_shape(8, 8, 8)}) {
    const uint32_t m = 2 * shape.m, n = 2 * shape.n, k = 2 * shape.k;
    std::mt19937 rng(shape.m * 100 + shape.n * 10 + shape.k);
    std::uniform_int_distribution<int> small(-64, 64);
    // Values j / 16 with |j| <= 64 are exact in f16 and their products and sums of 32 are exact
    // in f32: any difference from the reference is a wrong element, not rounding.
    std::vector<uint16_t> a(size_t(m) * k), b(size_t(k) * n);
    std::vector<float> af(a.size()), bf(b.size());
    for (size_t i = 0; i < a.size(); ++i) a[i] = float_to_half(af[i] = float(small(rng)) / 16.0f);
    for (size_t i = 0; i < b.size(); ++i) b[i] = float_to_half(bf[i] = float(small(rng)) / 16.0f);
    for (bool round : {false, true}) {
      INFO("shape " << shape.m << "x" << shape.n << "x" << shape.k << ", f16 round trip " << round);
      const float bias = 0.375f;
      const std::vector<float> c = run_probe(ctx, shape, m, n, k, a, b, round, bias);
      size_t wrong = 0;
      for (uint32_t i = 0; i < m; ++i) {
        for (uint32_t j = 0; j < n; ++j) {
          float ref = bias;
          for (uint32_t kk = 0; kk < k; ++kk) ref += af[i * k + kk] * bf[kk * n + j];
          ref *= 2.0f;
          if (round) ref = half_to_float(float_to_half(ref));
          if (!(c[size_t(i) * n + j] == ref)) ++wrong;  // exact (see above); NaN counts as wrong
        }
      }
      CHECK(wrong == 0);
    }
  }
}
