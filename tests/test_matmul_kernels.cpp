// The matmul kernel variants: which one each device class gets (fake DeviceInfo values for
// devices this machine lacks), and every variant the table can pick, forced onto the test
// device and checked against the CPU reference with the matmul op cases (odd shapes, both
// activation types, decode and prefill).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/lowering.h"
#include "engine/core/fp16.h"
#include "engine/testing/op_cases.h"
#include "shaders/embedded.h"
#include "tests/op_case_support.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using namespace vkgraph::vk;
using Catch::Matchers::ContainsSubstring;

namespace {

constexpr VkSubgroupFeatureFlags kSubgroupOps = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT |
                                                VK_SUBGROUP_FEATURE_BALLOT_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;

DeviceInfo base_device(const char* name, VkPhysicalDeviceType type, uint32_t subgroup) {
  DeviceInfo d;
  d.name = name;
  d.type = type;
  d.shader_int64 = true;  // every desktop GPU and lavapipe (the row kernels' 64-bit loads)
  d.subgroup_size = d.min_subgroup_size = d.max_subgroup_size = subgroup;
  d.subgroup_ops = kSubgroupOps;
  d.subgroup_ops_in_compute = true;
  d.max_shared_memory = 32 * 1024;
  d.max_workgroup_size[0] = d.max_workgroup_size[1] = 1024;
  d.max_workgroup_size[2] = 64;
  d.max_workgroup_count[0] = d.max_workgroup_count[1] = d.max_workgroup_count[2] = 65535;
  d.max_workgroup_invocations = 1024;
  d.max_storage_buffer_range = 1u << 31;
  d.max_push_constants_size = 128;
  d.min_storage_buffer_offset_alignment = 16;
  d.storage_buffer_16bit = true;
  return d;
}

// lavapipe / SwiftShader: a CPU device with 8-wide subgroups.
DeviceInfo cpu_device() { return base_device("fake CPU device", VK_PHYSICAL_DEVICE_TYPE_CPU, 8); }
// A discrete GPU with 32-wide subgroups.
DeviceInfo gpu_device() { return base_device("fake GPU", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, 32); }

const KernelRow& row_for(const DeviceInfo& d, DType w, DType x, KernelForm form) {
  return select_kernel_row(d, {OpKind::matmul, w, x, form});
}

// Runs every matmul op case on the test device and requires each to match the CPU reference.
void check_matmul_cases(const std::string& variant) {
  const size_t ran = test::check_op_cases_on_vulkan({"matmul"}, variant);
  CHECK(ran >= 64);  // every weight type x activation type x shape list
}

}  // namespace

TEST_CASE("matmul kernels: a CPU-class device gets the row-per-invocation kernel", "[vulkan][matmul]") {
  const DeviceInfo cpu = cpu_device();
  for (DType w : test::vulkan_types(vk_matmul)) {
    const KernelRow& vec = row_for(cpu, w, DType::F32, KernelForm::vector);
    INFO(dtype_name(w));
    CHECK(std::string(vec.variant.shader) == "matmul/rows_" + std::string(dtype_name(w)) + "_f32");
    CHECK(vec.when == RowWhen::cpu);
    CHECK(vec.tile[1] == 1);  // LANES: one invocation per row
    CHECK(vec.tile[2] == 1);  // TOKENS
    CHECK(vec.variant.requirements.shared_memory_bytes == 0);
    // Prefill: the rows x tokens register tile, no shared memory.
    const KernelRow& mat = row_for(cpu, w, DType::F16, KernelForm::matrix);
    CHECK(std::string(mat.variant.shader) == "matmul/rows_tokens_" + std::string(dtype_name(w)) + "_f16");
    CHECK(mat.when == RowWhen::cpu);
    CHECK(mat.tile[0] * mat.tile[1] > 1);  // several rows x tokens per invocation
    CHECK(mat.variant.requirements.shared_memory_bytes == 0);
  }
  // A GPU never gets it.
  CHECK(std::string(row_for(gpu_device(), DType::Q4_0, DType::F32, KernelForm::matrix).variant.shader) !=
        "matmul/rows_tokens_q4_0_f32");
}

// The row kernels read activations through a uniform-buffer view where they fit one
// (matmul/x_words.glsl): on a CPU-class device, vec4 reads, whole 16-byte words, within
// maxUniformBufferRange, at an offset aligned for a uniform buffer. Whether the two paths give
// the same bits is tests/test_batch_invariance.cpp's (a 4-token step against a 64-token one).
TEST_CASE("matmul kernels: activations through a uniform buffer where they fit one", "[vulkan][matmul]") {
  DeviceInfo cpu = cpu_device();
  cpu.max_uniform_buffer_range = 65536;
  cpu.min_uniform_buffer_offset_alignment = 64;
  const VkBuffer buffer = VK_NULL_HANDLE;  // only the offset and size matter here
  CHECK(x_uniform_view(cpu, {buffer, 128, 576 * 4}, true));
  CHECK(x_uniform_view(cpu, {buffer, 0, 65536}, true));
  CHECK_FALSE(x_uniform_view(cpu, {buffer, 0, 65536 + 16}, true));  // over maxUniformBufferRange
  CHECK_FALSE(x_uniform_view(cpu, {buffer, 16, 576 * 4}, true));    // offset not aligned for it
  CHECK_FALSE(x_uniform_view(cpu, {buffer, 0, 40}, true));          // not whole 16-byte words
  CHECK_FALSE(x_uniform_view(cpu, {buffer, 0, 576 * 4}, false));    // activations read one by one
  CHECK_FALSE(x_uniform_view(gpu_device(), {buffer, 0, 576 * 4}, true));
}

TEST_CASE("matmul kernels: a GPU gets the subgroup-reduction mat-vec and the tiled mat-mat", "[vulkan][matmul]") {
  const DeviceInfo gpu = gpu_device();
  const KernelRow& vec = row_for(gpu, DType::Q4_0, DType::F32, KernelForm::vector);
  CHECK(std::string(vec.variant.shader) == "matmul/rows_q4_0_f32");
  CHECK(vec.when == RowWhen::gpu);
  CHECK(vec.tile[1] == 8);  // LANES
  CHECK(vec.workgroup_size % vec.tile[1] == 0);
  CHECK(std::string(row_for(gpu, DType::Q8_0, DType::F32, KernelForm::matrix).variant.shader) ==
        "matmul/tiled_q8_0_f32");

  // Subgroups narrower than a row's lanes, or no shuffles: the shared-memory mat-vec.
  DeviceInfo narrow = gpu_device();
  narrow.subgroup_size = narrow.min_subgroup_size = narrow.max_subgroup_size = 4;
  CHECK(std::string(row_for(narrow, DType::Q4_0, DType::F32, KernelForm::vector).variant.shader) ==
        "matmul/matvec_q4_0_f32");
  DeviceInfo no_shuffle = gpu_device();
  no_shuffle.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT;
  CHECK(std::string(row_for(no_shuffle, DType::F16, DType::F32, KernelForm::vector).variant.shader) ==
        "matmul/matvec_f16_f32");
  // A CPU device without them falls back the same way (its prefill to the tiled kernel).
  DeviceInfo cpu_plain = cpu_device();
  cpu_plain.subgroup_ops = 0;
  CHECK(std::string(row_for(cpu_plain, DType::Q8_0, DType::F32, KernelForm::vector).variant.shader) ==
        "matmul/matvec_q8_0_f32");
  CHECK(std::string(row_for(cpu_plain, DType::Q8_0, DType::F32, KernelForm::matrix).variant.shader) ==
        "matmul/tiled_q8_0_f32");
}

TEST_CASE("matmul kernels: forcing a variant picks its row and explains a device that cannot run it",
          "[vulkan][matmul]") {
  const DeviceInfo cpu = cpu_device();
  {
    ForcedKernels forced({"matmul/rows_q4_0_f32@gpu"});
    const KernelRow& row = row_for(cpu, DType::Q4_0, DType::F32, KernelForm::vector);
    CHECK(row.when == RowWhen::gpu);
    CHECK(row.tile[1] == 8);
  }
  CHECK(row_for(cpu, DType::Q4_0, DType::F32, KernelForm::vector).when == RowWhen::cpu);  // restored
  {
    // A forced row the device cannot run is skipped, not run.
    DeviceInfo narrow = cpu_device();
    narrow.subgroup_size = narrow.min_subgroup_size = narrow.max_subgroup_size = 4;
    ForcedKernels forced({"matmul/rows_q4_0_f32@gpu"});
    CHECK(std::string(row_for(narrow, DType::Q4_0, DType::F32, KernelForm::vector).variant.shader) ==
          "matmul/matvec_q4_0_f32");
  }
  // With every row unusable the error lists the rows meant for other devices.
  DeviceInfo no16 = gpu_device();
  no16.storage_buffer_16bit = false;
  CHECK_THROWS_WITH(row_for(no16, DType::Q4_0, DType::F32, KernelForm::vector),
                    ContainsSubstring("storageBuffer16BitAccess") && ContainsSubstring("meant for cpu devices"));
}

TEST_CASE("matmul kernels: the table's choice on the test device matches the CPU reference", "[vulkan][matmul]") {
  check_matmul_cases("table choice");
}

TEST_CASE("matmul kernels: the GPU subgroup-reduction mat-vec matches the CPU reference", "[vulkan][matmul]") {
  auto ctx = test::vulkan_context();
  if (ctx->info().subgroup_size < 8 || !(ctx->info().subgroup_ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT)) {
    SKIP("the test device has no subgroup shuffles over 8 invocations");
  }
  std::vector<std::string> force;
  for (const std::string& wx : test::matmul_variant_suffixes()) {
    force.push_back(std::string("matmul/rows_") + wx + "@gpu");
  }
  ForcedKernels forced(force);
  check_matmul_cases("rows@gpu");
}

TEST_CASE("matmul kernels: the CPU-class rows x tokens prefill tile matches the CPU reference", "[vulkan][matmul]") {
  auto ctx = test::vulkan_context();
  if (ctx->info().subgroup_size < 8 || !(ctx->info().subgroup_ops & VK_SUBGROUP_FEATURE_BALLOT_BIT)) {
    SKIP("the test device has no subgroup broadcasts over 8 invocations");
  }
  std::vector<std::string> force;
  for (const std::string& wx : test::matmul_variant_suffixes()) {
    force.push_back(std::string("matmul/rows_tokens_") + wx);
  }
  ForcedKernels forced(force);
  for (DType w : test::vulkan_types(vk_matmul)) {
    INFO(dtype_name(w));
    CHECK(std::string(row_for(ctx->info(), w, DType::F32, KernelForm::matrix).variant.shader) ==
          "matmul/rows_tokens_" + std::string(dtype_name(w)) + "_f32");
  }
  check_matmul_cases("rows_tokens");
}

TEST_CASE("matmul kernels: the previous CPU-class prefill (a row x 8 tokens) matches the CPU reference",
          "[vulkan][matmul]") {
  auto ctx = test::vulkan_context();
  if (ctx->info().subgroup_size < 8 || !(ctx->info().subgroup_ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT)) {
    SKIP("the test device has no subgroup shuffles over 8 invocations");
  }
  std::vector<std::string> force;
  for (const std::string& wx : test::matmul_variant_suffixes()) {
    force.push_back(std::string("matmul/rows_") + wx + "@cpu");
  }
  ForcedKernels forced(force);
  check_matmul_cases("rows@cpu");
}

TEST_CASE("matmul kernels: the portable shared-memory kernels match the CPU reference", "[vulkan][matmul]") {
  std::vector<std::string> force;
  for (const std::string& wx : test::matmul_variant_suffixes()) {
    force.push_back(std::string("matmul/matvec_") + wx);
    force.push_back(std::string("matmul/tiled_") + wx);
  }
  ForcedKernels forced(force);
  check_matmul_cases("matvec + tiled");
}

namespace {

// Activations as the integer-dot kernel sees them: per block of 32, d = max|x| / 127 and
// x -> d * round(x / d), stored back in the input's type. The kernel re-quantizes these to the
// same integers (x / d is within f16 rounding of an integer), so against a CPU reference fed
// these values it differs only by float summation order and meets the ordinary matmul bound.
void quantize_activations(std::vector<std::byte>& bytes, DType type) {
  const size_t n = type == DType::F16 ? bytes.size() / 2 : bytes.size() / 4;
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    if (type == DType::F16) {
      uint16_t h;
      std::memcpy(&h, bytes.data() + 2 * i, 2);
      v[i] = half_to_float(h);
    } else {
      std::memcpy(&v[i], bytes.data() + 4 * i, 4);
    }
  }
  REQUIRE(n % 32 == 0);
  for (size_t b = 0; b < n; b += 32) {
    float amax = 0.0f;
    for (size_t i = b; i < b + 32; ++i) amax = std::max(amax, std::fabs(v[i]));
    const float d = amax / 127.0f;
    for (size_t i = b; i < b + 32; ++i) v[i] = d == 0.0f ? 0.0f : d * std::round(v[i] / d);
  }
  for (size_t i = 0; i < n; ++i) {
    if (type == DType::F16) {
      const uint16_t h = float_to_half(v[i]);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    } else {
      std::memcpy(bytes.data() + 4 * i, &v[i], 4);
    }
  }
}

bool is_int8_dot_case(const testing::OpCase& c) {
  return c.op == "matmul" && c.name.find(" m=1 ") != std::string::npos && (dtype_info(c.weight).vulkan & vk_dot8);
}

}  // namespace

TEST_CASE("matmul kernels: the integer-dot mat-vec is chosen only where 4x8-bit dot products are accelerated",
          "[vulkan][matmul]") {
  DeviceInfo fast = gpu_device();
  fast.integer_dot_product = true;
  fast.int8_dot_accelerated = true;
  for (DType w : test::vulkan_types(vk_dot8)) {
    for (DType x : {DType::F32, DType::F16}) {
      INFO(dtype_name(w) << " x " << dtype_name(x));
      const KernelRow& row = row_for(fast, w, x, KernelForm::vector);
      CHECK(std::string(row.variant.shader) ==
            "matmul/dot8_" + std::string(dtype_name(w)) + "_" + std::string(dtype_name(x)));
      CHECK(row.when == RowWhen::int8_dot_fast);
      CHECK(row.tile[0] * row.tile[1] == row.workgroup_size);
      // Prefill keeps the tiled kernel; float weights have no integer path.
      CHECK(std::string(row_for(fast, w, x, KernelForm::matrix).variant.shader).starts_with("matmul/tiled_"));
    }
  }
  CHECK(std::string(row_for(fast, DType::F16, DType::F32, KernelForm::vector).variant.shader) == "matmul/rows_f16_f32");

  // Supported but not accelerated (lavapipe): the subgroup kernels.
  DeviceInfo slow = fast;
  slow.int8_dot_accelerated = false;
  CHECK(std::string(row_for(slow, DType::Q8_0, DType::F32, KernelForm::vector).variant.shader) ==
        "matmul/rows_q8_0_f32");
  DeviceInfo cpu = cpu_device();
  cpu.integer_dot_product = true;
  CHECK(std::string(row_for(cpu, DType::Q4_0, DType::F32, KernelForm::vector).variant.shader) ==
        "matmul/rows_q4_0_f32");
  // Forced onto a device without shaderIntegerDotProduct, the row is refused and the next one runs.
  ForcedKernels forced({"matmul/dot8_q8_0_f32"});
  CHECK(std::string(row_for(gpu_device(), DType::Q8_0, DType::F32, KernelForm::vector).variant.shader) ==
        "matmul/rows_q8_0_f32");
}

TEST_CASE("matmul kernels: the integer-dot mat-vec matches the CPU reference on int8-rounded activations",
          "[vulkan][matmul]") {
  auto ctx = test::vulkan_context();
  if (!ctx->info().integer_dot_product) SKIP("the test device has no shaderIntegerDotProduct");
  std::vector<std::string> dot8;
  for (const std::string& wx : test::matmul_variant_suffixes(vk_dot8)) dot8.push_back("matmul/dot8_" + wx);
  ForcedKernels forced(dot8);
  for (const char* x : {"f32", "f16"}) {
    CHECK(std::string(
              select_kernel_row(ctx->info(), {OpKind::matmul, DType::Q4_0,
                                              std::string(x) == "f32" ? DType::F32 : DType::F16, KernelForm::vector})
                  .variant.shader) == std::string("matmul/dot8_q4_0_") + x);
  }
  VulkanBackend vulkan(ctx);
  cpu::CpuBackend cpu;
  size_t ran = 0;
  for (const testing::OpCase& c : testing::op_cases()) {
    if (!is_int8_dot_case(c)) continue;
    ++ran;
    test::ValidationGuard guard;
    {
      // The ordinary bound, with the reference fed the activations the kernel rounds to.
      testing::OpCase rounded = c;
      rounded.build = [build = c.build](Backend& backend) {
        testing::CaseGraph g = build(backend);
        for (auto& [id, bytes] : g.inputs) quantize_activations(bytes, g.graph.node(id).dtype);
        return g;
      };
      const testing::CaseResult result = testing::run_op_case(rounded, vulkan, cpu);
      INFO("int8-rounded activations: " << testing::format_case_result(result));
      CHECK(result.error.empty());
      CHECK(result.passed);
    }
    if (c.name.find("n_in=4096") != std::string::npos) {
      // Against the plain reference: the rounding error e of x ~ U(-1, 1) is at most d / 2 with
      // d = max|x_b| / 127 <= 1 / 127, so var(e) <= 1 / (12 * 127^2) = 5.2e-6 against
      // E[x^2] = 1/3: an expected NMSE of about 1.55e-5 for independent weights. 257 outputs of
      // 4096 terms each keep the sample within 2x of it. The lower bound proves the activations
      // were quantized (the float kernels reach ~1e-13 here).
      testing::OpCase plain = c;
      plain.max_nmse = 3e-5;
      const testing::CaseResult result = testing::run_op_case(plain, vulkan, cpu);
      INFO("plain activations: " << testing::format_case_result(result));
      CHECK(result.error.empty());
      CHECK(result.passed);
      CHECK(result.nmse > 5e-6);
    }
  }
  CHECK(ran == 10 * test::vulkan_types(vk_dot8).size());  // each type x f32 and f16 x 5 decode shapes
}

namespace {

// A GPU with fp16 and, when `shape` is set, VK_KHR_cooperative_matrix listing the 16x16x16
// f16 x f16 + f32 -> f32 subgroup shape (next to one the kernel does not use: K = 32).
DeviceInfo coopmat_gpu(bool shape) {
  DeviceInfo d = gpu_device();
  d.shader_float16 = true;
  d.max_shared_memory = 48 * 1024;
  d.extensions = {VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME};
  d.has_cooperative_matrix = true;
  d.vulkan_memory_model = true;  // cooperative-matrix modules use it
  CoopMatShape other{16, 16, 32};
  d.coopmat_shapes = {other};
  if (shape) d.coopmat_shapes.push_back(CoopMatShape{16, 16, 16});
  return d;
}

// True when the module declares OpCapability `capability` (opcode 17, two words).
bool declares_capability(std::span<const uint32_t> spirv, uint32_t capability) {
  for (size_t i = 5; i < spirv.size();) {  // after the 5-word header
    const uint32_t words = spirv[i] >> 16, opcode = spirv[i] & 0xffffu;
    if (opcode == 17 && words == 2 && spirv[i + 1] == capability) return true;
    if (words == 0) return false;
    i += words;
  }
  return false;
}

}  // namespace

TEST_CASE("matmul kernels: the cooperative-matrix mat-mat is selected only with an f16 shape it tiles by",
          "[vulkan][matmul][coopmat]") {
  const DeviceInfo without = coopmat_gpu(false);
  const DeviceInfo with = coopmat_gpu(true);
  const bool embedded = shaders::find("matmul/coopmat_f16_f32") != nullptr;
  for (DType w : test::vulkan_types(vk_coopmat)) {
    for (DType x : {DType::F32, DType::F16}) {
      INFO(dtype_name(w) << " x " << dtype_name(x));
      const std::string wx = std::string(dtype_name(w)) + "_" + std::string(dtype_name(x));
      CHECK(std::string(row_for(without, w, x, KernelForm::matrix).variant.shader) == "matmul/tiled_" + wx);
      CHECK(std::string(row_for(with, w, x, KernelForm::matrix).variant.shader) ==
            (embedded ? "matmul/coopmat_" : "matmul/tiled_") + wx);
      // Decode never uses it.
      CHECK(std::string(row_for(with, w, x, KernelForm::vector).variant.shader) == "matmul/rows_" + wx);
    }
  }
  // F32 weights have no f16 path.
  CHECK(std::string(row_for(with, DType::F32, DType::F32, KernelForm::matrix).variant.shader) ==
        "matmul/tiled_f32_f32");
  // Without shaderFloat16 the shape alone is not enough.
  DeviceInfo no_fp16 = with;
  no_fp16.shader_float16 = false;
  CHECK(std::string(row_for(no_fp16, DType::F16, DType::F32, KernelForm::matrix).variant.shader) ==
        "matmul/tiled_f16_f32");
  if (!embedded) SKIP("cooperative-matrix shaders are not built (VKGRAPH_COOPMAT_SHADERS off)");
}

TEST_CASE("matmul kernels: the cooperative-matrix mat-mat SPIR-V is embedded and declares CooperativeMatrixKHR",
          "[vulkan][matmul][coopmat]") {
  if (shaders::find("matmul/coopmat_f16_f32") == nullptr) {
    SKIP("cooperative-matrix shaders are not built (VKGRAPH_COOPMAT_SHADERS off)");
  }
  constexpr uint32_t kCooperativeMatrixKHR = 6022;  // SPIR-V capability enumerant
  for (const std::string& wx : test::matmul_variant_suffixes(vk_coopmat)) {
    INFO(wx);
    const shaders::EmbeddedShader* s = shaders::find(std::string("matmul/coopmat_") + wx);
    REQUIRE(s != nullptr);
    CHECK(s->needs_coopmat);
    REQUIRE(s->spirv.size() > 5);
    CHECK(s->spirv[0] == 0x07230203u);
    CHECK(declares_capability(s->spirv, kCooperativeMatrixKHR));
  }
  // The portable kernel declares no such capability (the scan is not vacuous).
  CHECK_FALSE(declares_capability(shaders::find("matmul/tiled_f16_f32")->spirv, kCooperativeMatrixKHR));
  // This machine's device cannot run it: the test device never gets it chosen.
  auto ctx = test::vulkan_context();
  if (!device_has_coopmat_shape(ctx->info(), CoopMatShape{16, 16, 16})) {
    CHECK(std::string(row_for(ctx->info(), DType::F16, DType::F32, KernelForm::matrix).variant.shader) !=
          "matmul/coopmat_f16_f32");
  }
}
