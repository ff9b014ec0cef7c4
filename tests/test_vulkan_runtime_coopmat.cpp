// Cooperative-matrix kernels are compiled into the binary but only selected on a device that
// reports VK_KHR_cooperative_matrix and the exact shape the kernel uses. The real device here
// (lavapipe) has no cooperative matrices; hand-made DeviceInfos stand in for GPUs that do.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <string>

#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/kernel_requirements.h"
#include "engine/backend/vulkan/pipeline.h"
#include "engine/backend/vulkan/probe_kernels.h"
#include "shaders/embedded.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

// A GPU with fp16 and 16-bit storage; `ext` adds the extension, `shapes` its shape list.
vk::DeviceInfo fake_gpu(bool ext, std::vector<vk::CoopMatShape> shapes) {
  vk::DeviceInfo d;
  d.name = "Fake GPU";
  d.type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  d.shader_int64 = true;  // every desktop GPU and lavapipe (the row kernels' 64-bit loads)
  d.shader_float16 = true;
  d.storage_buffer_16bit = true;
  d.subgroup_size = d.min_subgroup_size = d.max_subgroup_size = 32;
  d.max_shared_memory = 49152;
  d.max_workgroup_invocations = 1024;
  if (ext) {
    d.extensions = {VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME};
    d.has_cooperative_matrix = true;
    d.vulkan_memory_model = true;  // cooperative-matrix modules use it
    d.coopmat_shapes = std::move(shapes);
  }
  return d;
}

vk::CoopMatShape shape(uint32_t m, uint32_t n, uint32_t k, VkComponentTypeKHR ab, VkComponentTypeKHR cr) {
  vk::CoopMatShape s;
  s.m = m, s.n = n, s.k = k;
  s.a = s.b = ab;
  s.c = s.result = cr;
  s.scope = VK_SCOPE_SUBGROUP_KHR;
  return s;
}

}  // namespace

TEST_CASE("vulkan coopmat kernel is embedded and flagged", "[vulkan][runtime][coopmat]") {
  const shaders::EmbeddedShader* coop = shaders::find(vk::kCoopMatTileShader);
  REQUIRE(coop != nullptr);
  CHECK(coop->needs_coopmat);
  REQUIRE(coop->spirv.size() > 5);
  CHECK(coop->spirv[0] == 0x07230203u);  // the SPIR-V magic number
  const shaders::EmbeddedShader* add = shaders::find(vk::kVectorAddShader);
  REQUIRE(add != nullptr);
  CHECK_FALSE(add->needs_coopmat);
}

TEST_CASE("vulkan coopmat kernel is selected only with the extension and its shape", "[vulkan][runtime][coopmat]") {
  const auto candidates = vk::coopmat_probe_variants();
  const vk::CoopMatShape wanted = vk::coopmat_probe_shape();
  std::string why;

  // Extension and the exact shape (among others): selected.
  vk::DeviceInfo with_shape =
      fake_gpu(true, {shape(16, 8, 16, VK_COMPONENT_TYPE_FLOAT16_KHR, VK_COMPONENT_TYPE_FLOAT16_KHR), wanted});
  const vk::KernelVariant* chosen = vk::select_kernel(with_shape, candidates, &why);
  REQUIRE(chosen != nullptr);
  CHECK(chosen->shader == vk::kCoopMatTileShader);
  CHECK(vk::device_has_coopmat_shape(with_shape, wanted));

  // Extension, but only other shapes (right sizes with f16 accumulation, other sizes): not.
  vk::DeviceInfo other_shapes =
      fake_gpu(true, {shape(16, 16, 16, VK_COMPONENT_TYPE_FLOAT16_KHR, VK_COMPONENT_TYPE_FLOAT16_KHR),
                      shape(16, 8, 16, VK_COMPONENT_TYPE_FLOAT16_KHR, VK_COMPONENT_TYPE_FLOAT32_KHR),
                      shape(16, 16, 32, VK_COMPONENT_TYPE_SINT8_KHR, VK_COMPONENT_TYPE_SINT32_KHR)});
  CHECK(vk::select_kernel(other_shapes, candidates, &why) == nullptr);
  CHECK_THAT(why, ContainsSubstring("no cooperative-matrix shape 16x16x16 f16*f16+f32->f32"));

  // The shape at workgroup scope is a different shape.
  vk::CoopMatShape workgroup = wanted;
  workgroup.scope = VK_SCOPE_WORKGROUP_KHR;
  CHECK(vk::select_kernel(fake_gpu(true, {workgroup}), candidates, &why) == nullptr);

  // Shape listed but no extension (an inconsistent probe must not enable it): not.
  vk::DeviceInfo shape_no_ext = fake_gpu(false, {});
  shape_no_ext.coopmat_shapes = {wanted};
  CHECK(vk::select_kernel(shape_no_ext, candidates, &why) == nullptr);
  CHECK_THAT(why, ContainsSubstring("no VK_KHR_cooperative_matrix"));

  // Nothing at all: not.
  CHECK(vk::select_kernel(fake_gpu(false, {}), candidates, &why) == nullptr);

  // Extension and shape but no fp16 arithmetic: not (the kernel's other requirements count too).
  vk::DeviceInfo no_fp16 = with_shape;
  no_fp16.shader_float16 = false;
  CHECK(vk::select_kernel(no_fp16, candidates, &why) == nullptr);
  CHECK_THAT(why, ContainsSubstring("shaderFloat16"));
}

TEST_CASE("vulkan coopmat shader without a declared shape is never selected", "[vulkan][runtime][coopmat]") {
  // A table row that forgot the shape: even a device with every shape must not get it.
  const vk::KernelVariant careless[] = {{vk::kCoopMatTileShader, vk::KernelRequirements{}}};
  std::string why;
  CHECK(vk::select_kernel(fake_gpu(true, {vk::coopmat_probe_shape()}), careless, &why) == nullptr);
  CHECK_THAT(why, ContainsSubstring("without a declared shape"));
}

TEST_CASE("vulkan real device selects the coopmat kernel only if it reports it", "[vulkan][runtime][coopmat]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  const vk::DeviceInfo& d = ctx->info();
  const bool has_shape = vk::device_has_coopmat_shape(d, vk::coopmat_probe_shape());
  std::string why;
  const vk::KernelVariant* chosen = vk::select_kernel(d, vk::coopmat_probe_variants(), &why);
  CHECK((chosen != nullptr) == (has_shape && d.shader_float16 && d.storage_buffer_16bit));
  if (!d.has_cooperative_matrix) {
    CHECK(chosen == nullptr);
    CHECK_THAT(why, ContainsSubstring("no VK_KHR_cooperative_matrix"));
    // Asking for the pipeline anyway is a clear error, not a driver crash.
    CHECK_THROWS_WITH(ctx->pipelines().get({vk::kCoopMatTileShader, {d.subgroup_size}, 3, 12}),
                      ContainsSubstring("cooperative matrices") && ContainsSubstring(d.name));
    SKIP("device '" << d.name << "' has no cooperative matrices: the coopmat kernel cannot run here");
  }
}
