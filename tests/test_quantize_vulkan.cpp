// Device memory for quantized weights on Vulkan: the backend's storage equals the packed size of
// the tensors, and the allocator's buffers exceed it by no more than its alignment per tensor.

#include <catch2/catch_test_macros.hpp>

#include <fmt/format.h>

#include "engine/backend/vulkan/backend_vulkan.h"
#include "models/model.h"
#include "shared_files.h"
#include "vulkan_test_support.h"

using namespace vkgraph;

TEST_CASE("quantized weights on Vulkan take their packed size in device memory", "[quantize][vulkan]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  const std::string input = testing::shared_file("models/tiny-gqa-f16.gguf");
  for (const DType type : {DType::Q8_0, DType::Q4_0}) {
    DYNAMIC_SECTION(dtype_name(type)) {
      vk::VulkanBackend backend(ctx);
      const uint64_t in_use_before = ctx->memory().stats().bytes_in_use;
      models::LoadOptions options;
      options.weights = std::string(dtype_name(type));
      const auto model = models::Model::load(input, backend, options);
      const uint64_t allocated = ctx->memory().stats().bytes_in_use - in_use_before;

      // 30 matrices of tiny-gqa packed (32 weights in 34 or 18 bytes) plus 9 f32 norms of 256.
      const uint64_t weights = 2ull * 4096 * 256 + 4ull * (2 * 256 * 256 + 2 * 128 * 256 + 3 * 704 * 256);
      const uint64_t packed = weights / 32 * (type == DType::Q8_0 ? 34 : 18) + 9 * 256 * 4;
      CHECK(model->weight_bytes() == packed);
      CHECK(backend.storage_bytes() == packed);
      // Each of the 39 tensors is one buffer rounded up to the allocator's alignment, which is
      // at most 256 (the Vulkan limit on minStorageBufferOffsetAlignment) unless the driver's
      // buffer requirements ask for more.
      const uint64_t alignment = std::max<uint64_t>(256, ctx->info().min_storage_buffer_offset_alignment);
      INFO(fmt::format("packed {} bytes, allocated {} bytes", packed, allocated));
      CHECK(allocated >= packed);
      CHECK(allocated < packed + 39 * alignment);
    }
  }
}
