// Attention kernel selection: the cooperative-matrix tiles are chosen only where the device
// lists their exact shape (fake DeviceInfo values stand in for GPUs this machine lacks), the
// portable tiles otherwise, the decode kernel for one query row; and on the real device prefill
// runs a query row per invocation on a CPU-class device (attention_rows.comp) and the tiled
// kernel elsewhere, with tiles sized to its shared memory; the tiled rows are forced here too.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/memory.h"
#include "engine/graph/plan.h"
#include "engine/testing/case_data.h"
#include "shaders/embedded.h"
#include "tests/forced_rows.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using namespace vkgraph::vk;
using Catch::Matchers::ContainsSubstring;

namespace {

// A GPU with fp16, 16-bit storage, basic subgroup ops and 48 KiB of shared memory; `shapes`
// with the cooperative-matrix extension when non-empty.
DeviceInfo fake_gpu(std::vector<CoopMatShape> shapes) {
  DeviceInfo d;
  d.name = "fake GPU";
  d.type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  d.shader_int64 = true;  // every desktop GPU and lavapipe (the row kernels' 64-bit loads)
  d.shader_float16 = true;
  d.storage_buffer_16bit = true;
  d.subgroup_size = d.min_subgroup_size = d.max_subgroup_size = 32;
  d.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  d.subgroup_ops_in_compute = true;
  d.max_shared_memory = 48 * 1024;
  d.max_workgroup_invocations = 1024;
  d.max_workgroup_size[0] = 1024;
  if (!shapes.empty()) {
    d.extensions = {VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME};
    d.has_cooperative_matrix = true;
    d.vulkan_memory_model = true;  // cooperative-matrix modules use it
    d.coopmat_shapes = std::move(shapes);
  }
  return d;
}

CoopMatShape f16_shape(uint32_t m, uint32_t n, uint32_t k) {
  CoopMatShape s;
  s.m = m, s.n = n, s.k = k;
  return s;  // f16 x f16 + f32 -> f32, subgroup scope (the defaults)
}

std::string chosen(const DeviceInfo& d, KernelForm form, DType kv = DType::F16) {
  return std::string(select_kernel_row(d, {OpKind::attention, kv, DType::F32, form}).variant.shader);
}

// The attention key of a graph with m query rows and the given head dimension.
KernelKey key_for(int64_t m, int64_t head_dim) {
  Graph g;
  const TensorId q = g.input("q", DType::F32, {m, 4, head_dim});
  const TensorId k = g.input("k", DType::F16, {32, 2, head_dim});
  const TensorId a = g.attention(q, k, k, g.input("qp", DType::I32, {m}), g.input("kp", DType::I32, {32}), {});
  return kernel_key(g, g.node(a));
}

}  // namespace

TEST_CASE("attention kernel forms follow rows and head_dim", "[attention][kernels]") {
  CHECK(key_for(1, 64).form == KernelForm::attention_decode);
  CHECK(key_for(2, 64).form == KernelForm::attention_tiled16);
  CHECK(key_for(17, 80).form == KernelForm::attention_tiled16);
  CHECK(key_for(17, 8).form == KernelForm::attention_tiled);  // stories260K: no 16-wide tiles
  CHECK(key_for(17, 8).a == DType::F16);
}

TEST_CASE("attention cooperative-matrix tiles are selected only where supported", "[attention][kernels][coopmat]") {
  const bool embedded = shaders::find("attention/tiled_coopmat_kv_f16") != nullptr;
  // Without the extension: portable tiles for prefill, the decode kernel for one row.
  const DeviceInfo plain = fake_gpu({});
  CHECK(chosen(plain, KernelForm::attention_tiled16) == "attention/tiled_kv_f16");
  CHECK(chosen(plain, KernelForm::attention_tiled16, DType::F32) == "attention/tiled_kv_f32");
  CHECK(chosen(plain, KernelForm::attention_tiled) == "attention/tiled_kv_f16");
  CHECK(chosen(plain, KernelForm::attention_decode) == "attention/split_kv_f16");
  CHECK(chosen(plain, KernelForm::attention_decode, DType::F32) == "attention/split_kv_f32");
  CHECK(chosen(plain, KernelForm::attention_split_reduce, DType::F32) == "attention/split_reduce");

  // The extension with only shapes the kernels cannot tile by (f16 accumulation, K = 32): still
  // portable. (16x8x16 and the other 8/16 shapes are taken: tests/test_vulkan_coopmat_emulation.cpp.)
  CoopMatShape f16_acc = f16_shape(16, 16, 16);
  f16_acc.c = f16_acc.result = VK_COMPONENT_TYPE_FLOAT16_KHR;
  const DeviceInfo other = fake_gpu({f16_acc, f16_shape(16, 16, 32)});
  CHECK(chosen(other, KernelForm::attention_tiled16) == "attention/tiled_kv_f16");

  // The exact shape: cooperative matrices for head dims that are multiples of 16, and only there.
  const DeviceInfo coop = fake_gpu({f16_shape(16, 8, 16), f16_shape(16, 16, 16)});
  if (!embedded) {
    // A build without VKGRAPH_COOPMAT_SHADERS must fall back, never fail.
    CHECK(chosen(coop, KernelForm::attention_tiled16) == "attention/tiled_kv_f16");
    SKIP("cooperative-matrix shaders are not built (VKGRAPH_COOPMAT_SHADERS off)");
  }
  CHECK(shaders::find("attention/tiled_coopmat_kv_f16")->needs_coopmat);
  CHECK(shaders::find("attention/tiled_coopmat_kv_f32")->needs_coopmat);
  CHECK_FALSE(shaders::find("attention/tiled_kv_f16")->needs_coopmat);
  CHECK(chosen(coop, KernelForm::attention_tiled16) == "attention/tiled_coopmat_kv_f16");
  CHECK(chosen(coop, KernelForm::attention_tiled16, DType::F32) == "attention/tiled_coopmat_kv_f32");
  CHECK(chosen(coop, KernelForm::attention_tiled) == "attention/tiled_kv_f16");
  CHECK(chosen(coop, KernelForm::attention_decode) == "attention/split_kv_f16");

  // The shape but no fp16 arithmetic, or no subgroup ids in compute: portable.
  DeviceInfo no_fp16 = coop;
  no_fp16.shader_float16 = false;
  CHECK(chosen(no_fp16, KernelForm::attention_tiled16) == "attention/tiled_kv_f16");
  DeviceInfo no_subgroups = coop;
  no_subgroups.subgroup_ops_in_compute = false;
  CHECK(chosen(no_subgroups, KernelForm::attention_tiled16) == "attention/tiled_kv_f16");
  // Less shared memory than the cooperative-matrix tiles' budget: portable.
  DeviceInfo small = coop;
  small.max_shared_memory = 32 * 1024;
  CHECK(chosen(small, KernelForm::attention_tiled16) == "attention/tiled_kv_f16");
  // The Vulkan minimum of 16 KiB still runs the portable tiles (the smaller-budget row).
  small.max_shared_memory = 16 * 1024;
  const KernelRow& row =
      select_kernel_row(small, {OpKind::attention, DType::F16, DType::F32, KernelForm::attention_tiled});
  CHECK(std::string(row.variant.shader) == "attention/tiled_kv_f16");
  CHECK(row.variant.requirements.shared_memory_bytes == 16 * 1024);
}

TEST_CASE("attention on this device: prefill rows on a CPU, else tiles sized to its shared memory",
          "[vulkan][attention]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  VulkanBackend backend(ctx);
  for (int64_t head_dim : {8, 64, 256}) {
    testing::CaseRng rng{static_cast<uint64_t>(head_dim)};
    testing::CaseGraph g;
    const TensorId q =
        testing::add_float_input(g, "q", DType::F32, {40, 8, head_dim}, rng.floats(size_t(40 * 8 * head_dim)));
    const TensorId k =
        testing::add_state(g, backend, "k", DType::F16, {64, 2, head_dim}, rng.floats(size_t(64 * 2 * head_dim)));
    std::vector<int32_t> qp(40), kp(64);
    for (int32_t i = 0; i < 64; ++i) kp[size_t(i)] = i;
    for (int32_t i = 0; i < 40; ++i) qp[size_t(i)] = 24 + i;
    const TensorId y =
        g.graph.attention(q, k, k, testing::add_i32_input(g, "qp", qp), testing::add_i32_input(g, "kp", kp),
                          AttentionParams{1.0f / std::sqrt(float(head_dim)), 0});
    g.graph.mark_output(y);
    const Plan plan = Plan::build(std::move(g.graph));
    const std::string text = backend.prepare(plan)->describe(false);
    INFO(text);
    const bool coop = ctx->info().has_cooperative_matrix && head_dim % 16 == 0 &&
                      device_has_coopmat_shape(ctx->info(), f16_shape(16, 16, 16));
    // A CPU-class device with subgroups of 8 or more runs a query row per invocation, up to heads
    // of 128 (attention_rows.comp's registers); larger heads go to the tiles.
    const std::vector<const KernelRow*> rows = find_kernel_rows("attention/rows_kv_f16@cpu#0");
    REQUIRE(rows.size() == 1);
    const bool cpu_rows =
        ctx->info().is_cpu() && device_supports(ctx->info(), rows[0]->variant.requirements) && head_dim <= 128;
    CHECK_THAT(text,
               ContainsSubstring(cpu_rows ? "attention/rows_kv_f16"
                                          : (coop ? "attention/tiled_coopmat_kv_f16" : "attention/tiled_kv_f16")));
  }
}

TEST_CASE("prefill: the tiled (GPU) rows pass the attention cases on this device, forced", "[vulkan][attention]") {
  // A CPU-class device chooses attention_rows.comp for prefill; the tiled rows, what GPUs run
  // (and this device where the rows kernel does not fit), are forced here so that their tiles,
  // rotation at load and empty-slot handling still run against the CPU reference. #0 and #2 are
  // the 32 KiB rows of both forms (head sizes multiples of 16 and not).
  test::ValidationGuard guard;
  for (const char* row : {"attention/tiled_kv_f16#0", "attention/tiled_kv_f16#2", "attention/tiled_kv_f32#0",
                          "attention/tiled_kv_f32#2"}) {
    INFO(row);
    CHECK(test::check_forced_row_cases(row, "attention") >= 1);
  }
}

TEST_CASE("attention device memory grows linearly with the sequence", "[vulkan][attention]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  VulkanBackend backend(ctx);
  MemoryAllocator& memory = ctx->memory();
  // Peak device bytes of a causal prefill of n tokens over an n-slot cache (stories260K's heads):
  // the cache, q, positions, output and anything the kernels allocate.
  auto peak_for = [&](int64_t n) {
    memory.reset_peak();
    const uint64_t before = memory.stats().bytes_in_use;
    {
      testing::CaseRng rng{static_cast<uint64_t>(n)};
      testing::CaseGraph g;
      const TensorId q = testing::add_float_input(g, "q", DType::F32, {n, 8, 8}, rng.floats(size_t(n * 64)));
      const TensorId k = testing::add_state(g, backend, "k", DType::F16, {n, 4, 8}, rng.floats(size_t(n * 32)));
      const TensorId v = testing::add_state(g, backend, "v", DType::F16, {n, 4, 8}, rng.floats(size_t(n * 32)));
      std::vector<int32_t> pos(static_cast<size_t>(n));
      for (size_t i = 0; i < pos.size(); ++i) pos[i] = int32_t(i);
      const TensorId y = g.graph.attention(q, k, v, testing::add_i32_input(g, "qp", pos),
                                           testing::add_i32_input(g, "kp", pos), AttentionParams{0.35f, 0});
      g.graph.mark_output(y);
      const Plan plan = Plan::build(std::move(g.graph));
      auto exe = backend.prepare(plan);
      for (const auto& [id, data] : g.inputs) exe->set_input(id, data);
      exe->run();
    }
    return memory.stats().peak_bytes - before;
  };
  const uint64_t p256 = peak_for(256), p512 = peak_for(512), p1024 = peak_for(1024);
  INFO("peak bytes: 256 -> " << p256 << ", 512 -> " << p512 << ", 1024 -> " << p1024);
  // Linear: doubling the length at most doubles the bytes (plus allocation rounding); an N x N
  // buffer of f32 scores would be 256 KiB, 1 MiB and 4 MiB here, quadrupling per doubling.
  CHECK(p512 <= 2 * p256 + 64 * 1024);
  CHECK(p1024 <= 2 * p512 + 64 * 1024);
  CHECK(p1024 < 1024 * 1024);  // the scores alone would take 4 MiB at 1024 x 1024 x 4 bytes
}
