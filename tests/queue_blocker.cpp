#include "tests/queue_blocker.h"

#include <mutex>

#include "engine/backend/vulkan/vk_check.h"
#include "engine/core/error.h"

namespace vkgraph::test {

QueueBlocker::QueueBlocker(vk::Context& context) : device_(context.device()) {
  VkEventCreateInfo event_info{VK_STRUCTURE_TYPE_EVENT_CREATE_INFO};
  vk::vk_check(vkCreateEvent(device_, &event_info, nullptr, &event_), "vkCreateEvent");

  // A 256-byte buffer the blocked command fills: transfer work the next submission's leading
  // barrier has to wait for.
  VkBufferCreateInfo buffer_info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  buffer_info.size = 256;
  buffer_info.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  vk::vk_check(vkCreateBuffer(device_, &buffer_info, nullptr, &buffer_), "vkCreateBuffer");
  VkMemoryRequirements needs;
  vkGetBufferMemoryRequirements(device_, buffer_, &needs);
  VkPhysicalDeviceMemoryProperties props;
  vkGetPhysicalDeviceMemoryProperties(context.physical_device(), &props);
  uint32_t type = 0;
  while (type < props.memoryTypeCount && (needs.memoryTypeBits & (1u << type)) == 0) ++type;
  VKGRAPH_CHECK(type < props.memoryTypeCount, "no memory type for the queue blocker's buffer");
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = needs.size;
  alloc.memoryTypeIndex = type;
  vk::vk_check(vkAllocateMemory(device_, &alloc, nullptr, &memory_), "vkAllocateMemory");
  vk::vk_check(vkBindBufferMemory(device_, buffer_, memory_, 0), "vkBindBufferMemory");

  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.queueFamilyIndex = context.queue_family();
  vk::vk_check(vkCreateCommandPool(device_, &pool_info, nullptr, &pool_), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo cmd_info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cmd_info.commandPool = pool_;
  cmd_info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cmd_info.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  vk::vk_check(vkAllocateCommandBuffers(device_, &cmd_info, &cmd), "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk::vk_check(vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
  vkCmdWaitEvents(cmd, 1, &event_, VK_PIPELINE_STAGE_HOST_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, nullptr, 0, nullptr,
                  0, nullptr);
  vkCmdFillBuffer(cmd, buffer_, 0, VK_WHOLE_SIZE, 0);
  vk::vk_check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");

  VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  vk::vk_check(vkCreateFence(device_, &fence_info, nullptr, &fence_), "vkCreateFence");
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd;
  const std::lock_guard lock(context.queue_mutex());
  vk::vk_check(vkQueueSubmit(context.queue(), 1, &submit, fence_), "vkQueueSubmit (queue blocker)");
}

void QueueBlocker::release() {
  if (released_) return;
  vk::vk_check(vkSetEvent(device_, event_), "vkSetEvent");
  released_ = true;
}

QueueBlocker::~QueueBlocker() {
  if (!released_) vkSetEvent(device_, event_);
  // Its command must be done before its objects go; the device outlives the vkgraph objects.
  vkWaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX);
  vkDestroyFence(device_, fence_, nullptr);
  vkDestroyCommandPool(device_, pool_, nullptr);
  vkDestroyBuffer(device_, buffer_, nullptr);
  vkFreeMemory(device_, memory_, nullptr);
  vkDestroyEvent(device_, event_, nullptr);
}

}  // namespace vkgraph::test
