// The validation plumbing itself: a deliberate API misuse must be counted, so a clean count in
// the other tests means something.
#include <catch2/catch_test_macros.hpp>

#include "engine/backend/vulkan/instance.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

TEST_CASE("vulkan validation messages are counted", "[vulkan][runtime]") {
  auto ctx = test::vulkan_context();
  REQUIRE(ctx->instance().validation_enabled());
  const uint64_t before = vk::validation_error_count();
  // usage = 0 breaks VUID-VkBufferCreateInfo-usage-requiredbitmask; drivers accept it anyway.
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = 256;
  info.usage = 0;
  VkBuffer buffer = VK_NULL_HANDLE;
  if (vkCreateBuffer(ctx->device(), &info, nullptr, &buffer) == VK_SUCCESS)
    vkDestroyBuffer(ctx->device(), buffer, nullptr);
  CHECK(vk::validation_error_count() > before);
  CHECK(vk::last_validation_message().find("usage") != std::string::npos);

  // After this point the guard sees no new messages.
  test::ValidationGuard guard;
  CHECK(guard.new_messages() == 0);
}
