#pragma once
// Command recording and submission. A Sequence records a command buffer once (bind pipeline,
// bind buffers, push constants, dispatch, barriers, timestamps) and can submit it any number of
// times: its descriptor sets and query pool live as long as the recording. Push constants are
// baked into the recording; values that change between replays belong in a small buffer.

#include <vulkan/vulkan.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/backend/vulkan/memory.h"
#include "engine/backend/vulkan/pipeline.h"

namespace vkgraph::vk {

class Context;

// GPU time of one timed region of the last submission.
struct RegionTiming {
  std::string label;
  double ms = 0.0;
};

class Sequence {
 public:
  // `max_timed_regions`: how many begin_region/end_region pairs one recording may hold (0: no
  // timestamps). Ignored (timings empty) when the device has no usable timestamps.
  explicit Sequence(std::shared_ptr<Context> context, uint32_t max_timed_regions = 0);
  ~Sequence();
  Sequence(const Sequence&) = delete;
  Sequence& operator=(const Sequence&) = delete;

  // Starts a new recording, dropping the previous one (and its descriptor sets).
  void begin();
  void bind(const Pipeline& pipeline);
  // Binds storage buffers to set 0, bindings 0..n-1 of the bound pipeline (n must equal its
  // binding_count). Each range must be aligned to minStorageBufferOffsetAlignment (Buffers are).
  void bind_buffers(std::span<const BufferRange> buffers);
  void bind_buffers(std::initializer_list<BufferRange> buffers) {
    bind_buffers(std::span<const BufferRange>(buffers.begin(), buffers.size()));
  }
  void push_constants(const void* data, uint32_t bytes);
  template <typename T>
  void push(const T& value) {
    push_constants(&value, static_cast<uint32_t>(sizeof(T)));
  }
  // Workgroup counts; checked against maxComputeWorkGroupCount.
  void dispatch(uint32_t x, uint32_t y = 1, uint32_t z = 1);
  // Compute writes -> later compute reads/writes. Record only where a dependency exists.
  void barrier();
  // Transfer writes (copies, fills) -> compute reads, and compute writes -> transfer reads.
  void transfer_barrier();
  // Records a buffer copy (sizes and bounds checked by the caller).
  void copy(const BufferRange& src, const BufferRange& dst);
  // Timestamps around the commands between these calls (nesting not allowed).
  void begin_region(std::string label);
  void end_region();
  void end();

  // Submits the recording and waits for it. A timeout (default 60 s, env VKGRAPH_GPU_TIMEOUT_MS)
  // or device loss throws Error naming the device.
  void submit_and_wait();
  size_t submit_count() const { return submits_; }
  // When the last submission call (vkQueueSubmit) returned: the host's share of a replay ends
  // there, the rest of submit_and_wait is the wait for the device.
  std::chrono::steady_clock::time_point last_submitted() const { return last_submitted_; }
  bool recording() const { return recording_; }

  // Timings of the last submission (empty without timestamps).
  std::vector<RegionTiming> timings() const;
  // GPU time of the whole last submission, from a timestamp written first in the recording to
  // one written last (nullopt without timestamps): what the timed regions add up to at most.
  std::optional<double> recording_ms() const;
  VkCommandBuffer command_buffer() const { return cmd_; }

 private:
  VkDescriptorSet allocate_set();

  std::shared_ptr<Context> context_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  std::vector<VkDescriptorPool> descriptor_pools_;
  uint32_t sets_left_in_pool_ = 0;
  const Pipeline* bound_ = nullptr;
  VkQueryPool queries_ = VK_NULL_HANDLE;
  uint32_t max_regions_ = 0;
  std::vector<std::string> region_labels_;
  bool region_open_ = false;
  bool recording_ = false;
  bool recorded_ = false;
  size_t submits_ = 0;
  std::chrono::steady_clock::time_point last_submitted_{};
};

// Records `record` into a fresh command buffer, submits it and waits (uploads, fills, copies).
void run_one_shot(Context& context, const std::function<void(VkCommandBuffer)>& record);

// Waits for `fence` with the GPU timeout; Error naming the device and `what` on timeout/loss.
void wait_fence(Context& context, VkFence fence, const char* what);

}  // namespace vkgraph::vk
