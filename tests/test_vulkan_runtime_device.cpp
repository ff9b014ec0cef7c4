// The Vulkan runtime's device layer: the probe on the real device (lavapipe here), device
// selection rules on hand-made device lists, and the errors for a missing device or feature.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <vector>

#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/device_select.h"
#include "engine/core/error.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

vk::DeviceInfo fake(const char* name, VkPhysicalDeviceType type, const char* driver = "fake") {
  vk::DeviceInfo d;
  d.name = name;
  d.type = type;
  d.shader_int64 = true;  // every desktop GPU and lavapipe (the row kernels' 64-bit loads)
  d.driver_name = driver;
  return d;
}

}  // namespace

TEST_CASE("vulkan probe reports the device's compute capabilities", "[vulkan][runtime]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  const vk::DeviceInfo& d = ctx->info();
  CHECK_FALSE(d.name.empty());
  CHECK(d.api_version >= VK_API_VERSION_1_2);
  CHECK(d.subgroup_size >= 1);
  CHECK(d.min_subgroup_size <= d.subgroup_size);
  CHECK(d.subgroup_size <= d.max_subgroup_size);
  CHECK(d.max_shared_memory >= 16384);  // the Vulkan minimum for maxComputeSharedMemorySize
  CHECK(d.max_workgroup_invocations >= 128);
  CHECK(d.max_workgroup_count[0] >= 65535);
  CHECK(d.max_storage_buffer_range >= (1u << 27));
  CHECK(d.max_memory_allocation_size >= (1u << 30));
  CHECK(d.min_storage_buffer_offset_alignment >= 1);
  CHECK(d.max_push_constants_size >= 128);
  REQUIRE_FALSE(d.memory_heaps.empty());
  REQUIRE_FALSE(d.memory_types.empty());
  CHECK(d.device_local_bytes() > 0);
  for (const vk::MemoryTypeInfo& t : d.memory_types) CHECK(t.heap < d.memory_heaps.size());
  if (d.has_cooperative_matrix) CHECK(d.has_extension(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME));
  if (!d.has_cooperative_matrix) CHECK(d.coopmat_shapes.empty());

  if (d.driver_id == VK_DRIVER_ID_MESA_LLVMPIPE) {
    // Mesa 25 lavapipe on this machine: a CPU device, 8-wide subgroups, 32 KiB shared memory,
    // fp16/int8 arithmetic, 8/16-bit storage, integer dot product (not accelerated),
    // timestamps, no cooperative matrices.
    CHECK(d.type == VK_PHYSICAL_DEVICE_TYPE_CPU);
    CHECK(d.vendor_name == "Mesa");
    CHECK(d.max_shared_memory == 32768);
    CHECK(d.shader_float16);
    CHECK(d.shader_int8);
    CHECK(d.storage_buffer_8bit);
    CHECK(d.storage_buffer_16bit);
    CHECK(d.integer_dot_product);
    CHECK_FALSE(d.int8_dot_accelerated);
    CHECK_FALSE(d.has_cooperative_matrix);
    CHECK(d.timestamps_usable());
    CHECK(d.driver_name == "llvmpipe");
  }
  const std::string text = vk::describe(d);
  CHECK_THAT(text, ContainsSubstring(d.name));
  CHECK_THAT(text, ContainsSubstring("maxStorageBufferRange"));
  CHECK_THAT(text, ContainsSubstring("cooperative matrix"));
}

TEST_CASE("vulkan device selection prefers a GPU and accepts a named or lone CPU device", "[vulkan][runtime]") {
  const std::vector<vk::DeviceInfo> mixed = {
      fake("llvmpipe (LLVM 15.0.6, 256 bits)", VK_PHYSICAL_DEVICE_TYPE_CPU, "llvmpipe"),
      fake("Intel(R) UHD Graphics 630", VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU),
      fake("NVIDIA GeForce RTX 4090", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU)};
  CHECK(vk::select_device(mixed, "") == 2);  // discrete over integrated over CPU
  const std::vector<vk::DeviceInfo> cpu_and_igpu = {mixed[0], mixed[1]};
  CHECK(vk::select_device(cpu_and_igpu, "") == 1);
  const std::vector<vk::DeviceInfo> cpu_only = {mixed[0]};
  CHECK(vk::select_device(cpu_only, "") == 0);

  CHECK(vk::select_device(mixed, "0") == 0);         // by index, even the CPU
  CHECK(vk::select_device(mixed, "LLVMPIPE") == 0);  // case-insensitive substring
  CHECK(vk::select_device(mixed, "rtx") == 2);
  CHECK(vk::select_device(mixed, "uhd") == 1);

  CHECK_THROWS_WITH(vk::select_device(mixed, "3"),
                    ContainsSubstring("index 3 does not exist") && ContainsSubstring("NVIDIA GeForce RTX 4090"));
  CHECK_THROWS_WITH(vk::select_device(mixed, "radeon"), ContainsSubstring("'radeon'") &&
                                                            ContainsSubstring("0: llvmpipe") &&
                                                            ContainsSubstring("2: NVIDIA"));
  const std::vector<vk::DeviceInfo> twins = {mixed[2], mixed[2]};
  CHECK_THROWS_WITH(vk::select_device(twins, "nvidia"), ContainsSubstring("ambiguous"));
  CHECK_THROWS_WITH(vk::select_device({}, ""), ContainsSubstring("no Vulkan device"));
}

TEST_CASE("vulkan lavapipe answers to its driver's name", "[vulkan][runtime]") {
  vk::DeviceInfo lvp = fake("llvmpipe (LLVM 15.0.6, 256 bits)", VK_PHYSICAL_DEVICE_TYPE_CPU, "llvmpipe");
  lvp.driver_id = VK_DRIVER_ID_MESA_LLVMPIPE;
  const std::vector<vk::DeviceInfo> devices = {fake("AMD Radeon RX 7900", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU), lvp};
  CHECK(vk::select_device(devices, "lavapipe") == 1);
  CHECK(vk::select_device(devices, "") == 0);
}

TEST_CASE("vulkan context errors name the missing device or feature", "[vulkan][runtime]") {
  test::ValidationGuard guard;
  vk::DeviceRequest missing;
  missing.device = "no-such-gpu-xyz";
  missing.validation = true;
  CHECK_THROWS_WITH(vk::Context::create(missing),
                    ContainsSubstring("no-such-gpu-xyz") && ContainsSubstring("available devices"));
  vk::DeviceRequest bad_index;
  bad_index.device = "99";
  CHECK_THROWS_WITH(vk::Context::create(bad_index), ContainsSubstring("index 99 does not exist"));

  CHECK_THROWS_WITH(vk::parse_feature("warp-drive"), ContainsSubstring("warp-drive") && ContainsSubstring("fp16"));
  CHECK(vk::parse_feature("coopmat") == vk::Feature::cooperative_matrix);

  auto ctx = test::vulkan_context();
  for (vk::Feature f : {vk::Feature::fp16, vk::Feature::int8, vk::Feature::storage_8bit, vk::Feature::storage_16bit,
                        vk::Feature::integer_dot_product, vk::Feature::subgroup_size_control,
                        vk::Feature::cooperative_matrix, vk::Feature::timestamps}) {
    if (ctx->has(f)) {
      CHECK_NOTHROW(ctx->require(f, "a test"));
    } else {
      CHECK_THROWS_WITH(ctx->require(f, "a test"),
                        ContainsSubstring(ctx->info().name) && ContainsSubstring(vk::feature_name(f)));
    }
  }
  if (!ctx->has(vk::Feature::cooperative_matrix)) {
    vk::DeviceRequest need_coopmat;
    need_coopmat.required = {vk::Feature::cooperative_matrix};
    CHECK_THROWS_WITH(vk::Context::create(need_coopmat),
                      ContainsSubstring("lacks the feature cooperative_matrix") && ContainsSubstring(ctx->info().name));
  }
}
