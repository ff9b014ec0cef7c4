// Defects a first GPU would have hit, found by reading the shaders and the selection code, each
// checked here without one: workgroup sizes in the SPIR-V, a driver that cannot build a pipeline,
// the subgroup size a kernel needs, requirements checked when a kernel is chosen, and reads back
// through host-cached memory, and values past f16's range in the cooperative-matrix kernels (the
// "1e5" op cases of engine/testing, run here through the emulation).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstdlib>
#include <optional>
#include <string>

#include "engine/backend/registry.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/device_coopmat.h"
#include "engine/backend/vulkan/executable_vulkan.h"
#include "engine/backend/vulkan/kernel_requirements.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/memory.h"
#include "engine/backend/vulkan/pipeline.h"
#include "engine/backend/vulkan/spirv_interface.h"
#include "engine/testing/op_cases.h"
#include "shaders/embedded.h"
#include "tests/scoped_env.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

using vkgraph::test::ScopedEnv;

namespace {

vk::DeviceInfo desktop_gpu() {
  vk::DeviceInfo d;
  d.name = "Fake GPU";
  d.type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  d.shader_int64 = true;  // every desktop GPU and lavapipe (the row kernels' 64-bit loads)
  d.shader_float16 = d.storage_buffer_16bit = true;
  d.subgroup_size = d.min_subgroup_size = d.max_subgroup_size = 32;
  d.subgroup_ops_in_compute = true;
  d.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT | VK_SUBGROUP_FEATURE_BALLOT_BIT |
                   VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  d.max_shared_memory = 49152;
  d.max_workgroup_invocations = 1024;
  d.max_workgroup_size[0] = 1024;
  d.max_storage_buffers_per_stage = 32;
  d.vulkan_memory_model = true;
  return d;
}

}  // namespace

TEST_CASE("defect 1: every shader variant takes its workgroup size from specialization constant 0",
          "[vulkan][defects]") {
  // probe/coopmat_tile.comp declared none (one invocation per workgroup: undefined for a
  // subgroup-scope matrix), and probe/vector_add.comp neither (its constant 0 was ignored).
  // The build checks the same (shaders/tools/check_local_size.cpp).
  size_t checked = 0;
  for (const shaders::EmbeddedShader* s : shaders::all()) {
    INFO(s->name);
    CHECK(vk::local_size_problem(vk::reflect_interface(s->spirv, std::string(s->name))).empty());
    ++checked;
  }
  CHECK(checked > 100);
  // The check itself: a module without the declaration is named as such.
  const shaders::EmbeddedShader* probe = shaders::find("probe/coopmat_emu_f16");
  REQUIRE(probe != nullptr);
  const vk::SpirvInterface iface = vk::reflect_interface(probe->spirv, "probe");
  REQUIRE(iface.local_size_x_spec_id.has_value());
  vk::SpirvInterface literal = iface;
  literal.local_size_x_spec_id.reset();
  CHECK_THAT(vk::local_size_problem(literal), ContainsSubstring("literal"));
}

TEST_CASE("defect 2: a kernel whose pipeline the driver cannot build falls back to the next row",
          "[vulkan][defects][coopmat]") {
  // The emulated cooperative-matrix rows stand in for a driver that fails on cooperative
  // matrices: their pipelines are made to fail, and every matmul case must still pass on the
  // next row (before, the first failure stopped the run). The cases run first, so the failure
  // meets the lowering itself and not a row already known to fail.
  ScopedEnv emulate("VKGRAPH_EMULATE_COOPMAT", "16x16x16");
  ScopedEnv inject("VKGRAPH_INJECT_PIPELINE_FAILURE", "coopmat_emu");
  auto backend = create_backend("vulkan");
  auto& vb = dynamic_cast<vk::VulkanBackend&>(*backend);
  const vk::DeviceInfo& info = vb.context()->info();
  REQUIRE(info.coopmat_emulated);
  REQUIRE_FALSE(vb.context()->pipelines().failed("matmul/coopmat_emu_q4_0_f32"));
  auto reference = create_backend("cpu");
  const testing::CaseSummary summary =
      testing::run_op_cases(*backend, *reference, "matmul w=q4_0 x=f32 m=33", [](const testing::CaseResult& r) {
        INFO(r.name << ": " << r.error);
        CHECK(r.passed);
      });
  CHECK(summary.passed >= 1);
  CHECK(summary.failed == 0);
  // The lowering met the failure (the row was chosen, its pipeline failed) and went on.
  CHECK(vb.context()->pipelines().failed("matmul/coopmat_emu_q4_0_f32"));
  // The error names the driver, so a user can report it.
  vk::PipelineDesc desc{"matmul/coopmat_emu_q4_0_f32", {64, 32, 32, 32}, 3, 40};
  CHECK_THROWS_WITH(vb.context()->pipelines().get(desc),
                    ContainsSubstring("coopmat_emu_q4_0_f32") && ContainsSubstring(info.driver_name));
}

TEST_CASE("defect 2: VKGRAPH_DISABLE_COOPMAT turns cooperative matrices off, native or emulated",
          "[vulkan][defects][coopmat]") {
  ScopedEnv emulate("VKGRAPH_EMULATE_COOPMAT", "16x16x16,8x8x8");
  {
    auto backend = create_backend("vulkan");
    const vk::DeviceInfo& info = dynamic_cast<vk::VulkanBackend&>(*backend).context()->info();
    CHECK(info.coopmat_emulated);
    CHECK(info.coopmat_shapes.size() == 2);
  }
  ScopedEnv off("VKGRAPH_DISABLE_COOPMAT", "1");
  auto backend = create_backend("vulkan");
  const vk::DeviceInfo& info = dynamic_cast<vk::VulkanBackend&>(*backend).context()->info();
  CHECK_FALSE(info.coopmat_emulated);
  CHECK_FALSE(info.has_cooperative_matrix);
  CHECK(info.coopmat_shapes.empty());
  const vk::KernelRow& row =
      vk::select_kernel_row(info, {OpKind::matmul, DType::Q4_0, DType::F32, vk::KernelForm::matrix});
  CHECK(std::string(row.variant.shader).find("coopmat") == std::string::npos);
}

TEST_CASE("defect 3: cooperative-matrix kernels scale values past f16's range instead of overflowing",
          "[vulkan][defects][coopmat]") {
  // Activations, queries or keys of 1e5 staged in f16 unscaled become infinity, and the matmul's
  // sums or the softmax turn to NaN. The "1e5" op cases must pass, and must have run on the
  // emulated cooperative-matrix rows (the shipped algorithm), not on a portable row.
  ScopedEnv emulate("VKGRAPH_EMULATE_COOPMAT", "16x16x16");
  auto backend = create_backend("vulkan");
  auto reference = create_backend("cpu");
  REQUIRE(dynamic_cast<vk::VulkanBackend&>(*backend).context()->info().coopmat_emulated);
  test::ValidationGuard guard;
  testing::RunCaseOptions options;
  std::string kernels;
  options.inspect = [&](const Executable& exe) {
    kernels.clear();
    for (const vk::Dispatch& d : dynamic_cast<const vk::VulkanExecutable&>(exe).dispatches()) {
      kernels += std::string(d.kernel->variant.shader) + " ";
    }
  };
  size_t attention_cases = 0;
  const testing::CaseSummary summary = testing::run_op_cases(
      *backend, *reference, "1e5",
      [&](const testing::CaseResult& r) {
        INFO(r.name << " on " << kernels << ": " << r.error << " nmse " << r.nmse);
        CHECK(r.passed);
        // F32 weights have no cooperative-matrix row (engine/core/weight_types.def); every other
        // case must have run on one.
        if (r.name.find("w=f32 ") == std::string::npos) CHECK(kernels.find("coopmat_emu") != std::string::npos);
        attention_cases += r.op == "attention" ? 1 : 0;
        kernels.clear();  // a case that fails before its run leaves no stale kernel list
      },
      options);
  CHECK(summary.failed == 0);
  // Every weight type's matmul case and both attention cases (big queries, big keys) ran.
  CHECK(summary.passed >= 16);
  CHECK(attention_cases == 2);
}

TEST_CASE("defect 4: a kernel needing wider subgroups than the default gets them pinned", "[vulkan][defects]") {
  // A device whose default subgroup is 4 with size control up to 16 (Intel-like): the 8-lane
  // decode kernel is accepted only because control reaches 8, so its pipeline must ask for 8.
  vk::DeviceInfo d = desktop_gpu();
  d.subgroup_size = 4;
  d.min_subgroup_size = 4;
  d.max_subgroup_size = 16;
  d.subgroup_size_control = true;
  vk::KernelRequirements eight;
  eight.min_subgroup_size = 8;
  CHECK(vk::device_supports(d, eight));
  CHECK(vk::pipeline_subgroup_size(d, eight) == 8);
  // A kernel fine with the default, and one that pins its own size, are left as they are.
  CHECK(vk::pipeline_subgroup_size(d, vk::KernelRequirements{}) == 0);
  vk::KernelRequirements pinned;
  pinned.required_subgroup_size = 16;
  CHECK(vk::pipeline_subgroup_size(d, pinned) == 16);
  // Without size control the kernel is not chosen at all.
  d.subgroup_size_control = false;
  d.min_subgroup_size = d.max_subgroup_size = 4;
  std::string why;
  CHECK_FALSE(vk::device_supports(d, eight, &why));
  CHECK_THAT(why, ContainsSubstring("subgroup size 4 < 8"));
  // The decode rows of the table on such a device: the chosen row's pipeline gets a size its
  // kernel can run with.
  d.subgroup_size_control = true;
  d.min_subgroup_size = 4;
  d.max_subgroup_size = 16;
  const vk::KernelRow& row =
      vk::select_kernel_row(d, {OpKind::matmul, DType::Q4_0, DType::F32, vk::KernelForm::vector});
  const uint32_t pinned_size = vk::pipeline_subgroup_size(d, row.variant.requirements);
  CHECK((row.variant.requirements.min_subgroup_size <= 4 || pinned_size >= row.variant.requirements.min_subgroup_size));
}

TEST_CASE("defect 5: storage-buffer count and the Vulkan memory model are checked when a kernel is chosen",
          "[vulkan][defects]") {
  // Attention binds 7 storage buffers: a device allowing 4 per stage gets an error naming the
  // limit at selection, not a failed pipeline build later.
  vk::DeviceInfo four = desktop_gpu();
  four.max_storage_buffers_per_stage = 4;
  CHECK_THROWS_WITH(
      vk::select_kernel_row(four, {OpKind::attention, DType::F16, DType::F32, vk::KernelForm::attention_tiled16}),
      ContainsSubstring("storage buffers > maxPerStageDescriptorStorageBuffers 4"));
  // The limit counts descriptor bindings: the row kernel's views of one weight (16-bit words,
  // 32-bit words, 16-byte vectors) and of the activations are one binding each, as the pipeline
  // layout binds them (weights, activations, output).
  const shaders::EmbeddedShader* rows = shaders::find("matmul/rows_q4_0_f32");
  REQUIRE(rows != nullptr);
  CHECK(vk::reflect_interface(rows->spirv, "rows").storage_buffers == 3);
  // Native cooperative-matrix modules use the Vulkan memory model: a device listing the shape but
  // without the feature gets the portable rows.
  vk::DeviceInfo coop = desktop_gpu();
  coop.extensions = {VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME};
  coop.has_cooperative_matrix = true;
  coop.coopmat_shapes = {vk::CoopMatShape{16, 16, 16}};
  const vk::KernelKey key{OpKind::matmul, DType::Q4_0, DType::F32, vk::KernelForm::matrix};
  if (shaders::find("matmul/coopmat_q4_0_f32") == nullptr) SKIP("cooperative-matrix shaders are not built");
  CHECK(std::string(vk::select_kernel_row(coop, key).variant.shader) == "matmul/coopmat_q4_0_f32");
  coop.vulkan_memory_model = false;
  CHECK(std::string(vk::select_kernel_row(coop, key).variant.shader) == "matmul/tiled_q4_0_f32");
}

TEST_CASE("defect 7: reads back go through host-cached memory when the buffers' memory is not", "[vulkan][defects]") {
  // A discrete GPU with resizable BAR: the storage buffers' type is device-local and host-visible
  // but uncached (CPU reads over PCIe, uncached), and a host-cached type exists for staging.
  vk::DeviceInfo d = desktop_gpu();
  d.memory_heaps = {{16ull << 30, true}, {32ull << 30, false}};
  d.memory_types = {{0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT},
                    {0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                            VK_MEMORY_PROPERTY_HOST_COHERENT_BIT},
                    {1, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT},
                    {1, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                            VK_MEMORY_PROPERTY_HOST_CACHED_BIT}};
  CHECK_FALSE(vk::reads_directly(d, 1));
  CHECK(vk::staging_type_for_readback(d, 0xf) == 3);
  // Non-coherent cached memory is taken over uncached (then invalidated before reading).
  d.memory_types[3].flags &= ~VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  CHECK(vk::staging_type_for_readback(d, 0xf) == 3);
  // Without any cached type, coherent host memory.
  CHECK(vk::staging_type_for_readback(d, 0x7) == 2);
  // Unified memory that is host-cached (integrated GPUs, lavapipe) is read directly.
  d.memory_types[1].flags |= VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
  CHECK(vk::reads_directly(d, 1));

  // On the real device both paths give the same bytes.
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  vk::MemoryAllocator& mem = ctx->memory();
  vk::Buffer b = mem.allocate(4096 + 12, "readback");
  std::vector<std::byte> data(4096 + 12);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 7 + 3);
  mem.upload(b, 0, data);
  std::vector<std::byte> back(data.size() - 4);
  mem.download(b, 4, back);
  CHECK(std::equal(back.begin(), back.end(), data.begin() + 4));
}
