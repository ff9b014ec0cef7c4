#pragma once
// Holds a Vulkan queue from the host: what a hung device looks like, made on purpose. The
// blocker submits a command buffer that waits for an event only the host sets and then fills a
// small buffer of its own; every later submission on the queue begins with a barrier over all
// earlier transfer and compute work (Sequence's recordings do), so it cannot run before
// release(). A test of the hang timeout then does not depend on how long its work takes.
//
// Its objects are made directly on the VkDevice, owned by no vkgraph object, so a test may tear
// down everything of vkgraph (a timed-out device is kept alive by its context, see
// vk::Context::hung) and release the queue afterwards.

#include <vulkan/vulkan.h>

#include "engine/backend/vulkan/context.h"

namespace vkgraph::test {

class QueueBlocker {
 public:
  explicit QueueBlocker(vk::Context& context);
  // Releases the queue if still held and waits for the device before destroying its objects.
  ~QueueBlocker();
  QueueBlocker(const QueueBlocker&) = delete;
  QueueBlocker& operator=(const QueueBlocker&) = delete;

  // Sets the event: the blocked queue runs on.
  void release();

 private:
  VkDevice device_;
  VkEvent event_ = VK_NULL_HANDLE;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  bool released_ = false;
};

}  // namespace vkgraph::test
