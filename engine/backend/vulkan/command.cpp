#include "engine/backend/vulkan/command.h"

#include <cstdlib>
#include <mutex>

#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/vk_check.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// Descriptor pools are made this big; a recording that needs more gets another pool.
constexpr uint32_t kSetsPerPool = 128;
constexpr uint32_t kBuffersPerPool = kSetsPerPool * 8;

// How long a submission may take before we call the device hung. Generous because lavapipe runs
// kernels on the CPU; VKGRAPH_GPU_TIMEOUT_MS overrides it.
uint64_t gpu_timeout_ns() {
  uint64_t ms = 120000;
  if (const char* env = std::getenv("VKGRAPH_GPU_TIMEOUT_MS"); env && *env) ms = std::strtoull(env, nullptr, 10);
  return ms * 1000000ull;
}

VkCommandPool create_pool(VkDevice device, uint32_t family, VkCommandPoolCreateFlags flags) {
  VkCommandPoolCreateInfo info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  info.flags = flags;
  info.queueFamilyIndex = family;
  VkCommandPool pool = VK_NULL_HANDLE;
  vk_check(vkCreateCommandPool(device, &info, nullptr, &pool), "vkCreateCommandPool");
  return pool;
}

VkCommandBuffer allocate_command_buffer(VkDevice device, VkCommandPool pool) {
  VkCommandBufferAllocateInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  info.commandPool = pool;
  info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  info.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  vk_check(vkAllocateCommandBuffers(device, &info, &cmd), "vkAllocateCommandBuffers");
  return cmd;
}

VkFence create_fence(VkDevice device) {
  VkFenceCreateInfo info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence = VK_NULL_HANDLE;
  vk_check(vkCreateFence(device, &info, nullptr, &fence), "vkCreateFence");
  return fence;
}

void memory_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                    VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = src_access;
  barrier.dstAccessMask = dst_access;
  vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

void submit(Context& context, VkCommandBuffer cmd, VkFence fence) {
  VkSubmitInfo info{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  info.commandBufferCount = 1;
  info.pCommandBuffers = &cmd;
  VKGRAPH_CHECK(
      !context.hung(),
      "device '{}' is still running a submission that timed out (see the earlier error); it takes no more work",
      context.info().name);
  std::lock_guard lock(context.queue_mutex());
  // An injected failure (vk_check.h) replaces the call: a submission it pretends failed must not run.
  VkResult r = injected_result("vkQueueSubmit", VK_SUCCESS);
  if (r == VK_SUCCESS) r = vkQueueSubmit(context.queue(), 1, &info, fence);
  VKGRAPH_CHECK(r == VK_SUCCESS, "vkQueueSubmit on device '{}' failed: {}", context.info().name, result_name(r));
}

}  // namespace

void wait_fence(Context& context, VkFence fence, const char* what) {
  const uint64_t timeout = gpu_timeout_ns();
  const VkResult r = injected_result("vkWaitForFences", vkWaitForFences(context.device(), 1, &fence, VK_TRUE, timeout));
  if (r == VK_TIMEOUT) {
    // The work may still be running: from now on nothing it uses may be freed (Context::hung).
    context.mark_hung();
    fail("device '{}' did not finish {} within {} ms (hung?); raise VKGRAPH_GPU_TIMEOUT_MS if it is just slow",
         context.info().name, what, timeout / 1000000);
  }
  if (r == VK_ERROR_DEVICE_LOST) {
    fail("device '{}' was lost while running {} (vkWaitForFences: VK_ERROR_DEVICE_LOST)", context.info().name, what);
  }
  vk_check(r, "vkWaitForFences");
}

void run_one_shot(Context& context, const std::function<void(VkCommandBuffer)>& record) {
  VkDevice device = context.device();
  VkCommandPool pool = create_pool(device, context.queue_family(), VK_COMMAND_POOL_CREATE_TRANSIENT_BIT);
  VkFence fence = VK_NULL_HANDLE;
  try {
    VkCommandBuffer cmd = allocate_command_buffer(device, pool);
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    vk_check(vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
    record(cmd);
    vk_check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
    fence = create_fence(device);
    submit(context, cmd, fence);
    wait_fence(context, fence, "a transfer");
  } catch (...) {
    if (context.hung()) throw;  // the submission may still run: its pool and fence stay
    if (fence) vkDestroyFence(device, fence, nullptr);
    vkDestroyCommandPool(device, pool, nullptr);
    throw;
  }
  vkDestroyFence(device, fence, nullptr);
  vkDestroyCommandPool(device, pool, nullptr);
}

Sequence::Sequence(std::shared_ptr<Context> context, uint32_t max_timed_regions) : context_(std::move(context)) {
  VkDevice device = context_->device();
  pool_ = create_pool(device, context_->queue_family(), VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT);
  cmd_ = allocate_command_buffer(device, pool_);
  fence_ = create_fence(device);
  if (max_timed_regions > 0 && context_->has(Feature::timestamps)) {
    max_regions_ = max_timed_regions;
    VkQueryPoolCreateInfo info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    info.queryType = VK_QUERY_TYPE_TIMESTAMP;
    info.queryCount = 2 * max_regions_ + 2;  // begin and end of each region, then of the recording
    vk_check(vkCreateQueryPool(device, &info, nullptr, &queries_), "vkCreateQueryPool");
  }
}

Sequence::~Sequence() {
  if (context_->hung()) return;  // its recording may still run: leave it to the process's end
  VkDevice device = context_->device();
  for (VkDescriptorPool p : descriptor_pools_) vkDestroyDescriptorPool(device, p, nullptr);
  if (queries_) vkDestroyQueryPool(device, queries_, nullptr);
  vkDestroyFence(device, fence_, nullptr);
  vkDestroyCommandPool(device, pool_, nullptr);
}

void Sequence::begin() {
  VKGRAPH_CHECK(!recording_, "Sequence::begin called while already recording");
  VkDevice device = context_->device();
  vk_check(vkResetCommandBuffer(cmd_, 0), "vkResetCommandBuffer");
  // The previous recording is gone, so its descriptor sets may go too.
  for (VkDescriptorPool p : descriptor_pools_) vkDestroyDescriptorPool(device, p, nullptr);
  descriptor_pools_.clear();
  sets_left_in_pool_ = 0;
  region_labels_.clear();
  region_open_ = false;
  bound_ = nullptr;
  recorded_ = false;
  VkCommandBufferBeginInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  vk_check(vkBeginCommandBuffer(cmd_, &info), "vkBeginCommandBuffer");
  recording_ = true;
  if (queries_) {
    vkCmdResetQueryPool(cmd_, queries_, 0, 2 * max_regions_ + 2);
    vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_, 2 * max_regions_);
  }
}

VkDescriptorSet Sequence::allocate_set() {
  VkDevice device = context_->device();
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (sets_left_in_pool_ == 0 || attempt == 1) {
      const uint32_t count = std::max(kBuffersPerPool, bound_->binding_count * 4);
      const VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, count},
                                             {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, count}};
      VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
      info.maxSets = kSetsPerPool;
      info.poolSizeCount = 2;
      info.pPoolSizes = sizes;
      VkDescriptorPool pool = VK_NULL_HANDLE;
      vk_check(vkCreateDescriptorPool(device, &info, nullptr, &pool), "vkCreateDescriptorPool");
      descriptor_pools_.push_back(pool);
      sets_left_in_pool_ = kSetsPerPool;
    }
    VkDescriptorSetAllocateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    info.descriptorPool = descriptor_pools_.back();
    info.descriptorSetCount = 1;
    info.pSetLayouts = &bound_->set_layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    VkResult r = vkAllocateDescriptorSets(device, &info, &set);
    if (r == VK_SUCCESS) {
      --sets_left_in_pool_;
      return set;
    }
    if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) vk_check(r, "vkAllocateDescriptorSets");
  }
  fail("could not allocate a descriptor set for shader '{}'", bound_->shader);
}

void Sequence::bind(const Pipeline& pipeline) {
  VKGRAPH_CHECK(recording_, "Sequence::bind outside begin()/end()");
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.pipeline);
  bound_ = &pipeline;
}

void Sequence::bind_buffers(std::span<const BufferRange> buffers) {
  VKGRAPH_CHECK(recording_ && bound_, "Sequence::bind_buffers needs a bound pipeline");
  VKGRAPH_CHECK(buffers.size() == bound_->binding_count, "shader '{}' has {} bindings, {} buffers given",
                bound_->shader, bound_->binding_count, buffers.size());
  const DeviceInfo& info = context_->info();
  std::vector<VkDescriptorBufferInfo> infos(buffers.size());
  std::vector<VkWriteDescriptorSet> writes(buffers.size());
  const VkDescriptorSet set = buffers.empty() ? VK_NULL_HANDLE : allocate_set();
  for (size_t i = 0; i < buffers.size(); ++i) {
    const BufferRange& b = buffers[i];
    VKGRAPH_CHECK(b.buffer != VK_NULL_HANDLE && b.size > 0, "shader '{}' binding {}: empty buffer", bound_->shader, i);
    const VkDescriptorType type = binding_type(*bound_, uint32_t(i));
    const bool uniform = type == VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
    const uint64_t alignment =
        uniform ? info.min_uniform_buffer_offset_alignment : info.min_storage_buffer_offset_alignment;
    const uint64_t max_range = uniform ? info.max_uniform_buffer_range : info.max_storage_buffer_range;
    VKGRAPH_CHECK(b.offset % alignment == 0, "shader '{}' binding {}: offset {} is not a multiple of {} {}",
                  bound_->shader, i, b.offset,
                  uniform ? "minUniformBufferOffsetAlignment" : "minStorageBufferOffsetAlignment", alignment);
    VKGRAPH_CHECK(b.size <= max_range, "shader '{}' binding {}: range of {} bytes exceeds {} {}", bound_->shader, i,
                  b.size, uniform ? "maxUniformBufferRange" : "maxStorageBufferRange", max_range);
    infos[i] = {b.buffer, b.offset, b.size};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = static_cast<uint32_t>(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = type;
    writes[i].pBufferInfo = &infos[i];
  }
  if (set == VK_NULL_HANDLE) return;
  vkUpdateDescriptorSets(context_->device(), static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);
  vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, bound_->layout, 0, 1, &set, 0, nullptr);
}

void Sequence::push_constants(const void* data, uint32_t bytes) {
  VKGRAPH_CHECK(recording_ && bound_, "Sequence::push_constants needs a bound pipeline");
  VKGRAPH_CHECK(bytes <= bound_->push_constant_bytes && bytes % 4 == 0,
                "shader '{}' declares {} bytes of push constants, {} given", bound_->shader,
                bound_->push_constant_bytes, bytes);
  vkCmdPushConstants(cmd_, bound_->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, bytes, data);
}

void Sequence::dispatch(uint32_t x, uint32_t y, uint32_t z) {
  VKGRAPH_CHECK(recording_ && bound_, "Sequence::dispatch needs a bound pipeline");
  const DeviceInfo& info = context_->info();
  VKGRAPH_CHECK(
      x <= info.max_workgroup_count[0] && y <= info.max_workgroup_count[1] && z <= info.max_workgroup_count[2],
      "shader '{}': dispatch {}x{}x{} exceeds device '{}' maxComputeWorkGroupCount {}x{}x{}", bound_->shader, x, y, z,
      info.name, info.max_workgroup_count[0], info.max_workgroup_count[1], info.max_workgroup_count[2]);
  if (x == 0 || y == 0 || z == 0) return;
  vkCmdDispatch(cmd_, x, y, z);
}

void Sequence::barrier() {
  VKGRAPH_CHECK(recording_, "Sequence::barrier outside begin()/end()");
  memory_barrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                 VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

void Sequence::transfer_barrier() {
  VKGRAPH_CHECK(recording_, "Sequence::transfer_barrier outside begin()/end()");
  const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  memory_barrier(cmd_, stages, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, stages,
                 VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT);
}

void Sequence::copy(const BufferRange& src, const BufferRange& dst) {
  VKGRAPH_CHECK(recording_, "Sequence::copy outside begin()/end()");
  VKGRAPH_CHECK(src.size == dst.size, "copy of {} bytes into a range of {} bytes", src.size, dst.size);
  VkBufferCopy region{src.offset, dst.offset, src.size};
  vkCmdCopyBuffer(cmd_, src.buffer, dst.buffer, 1, &region);
}

void Sequence::begin_region(std::string label) {
  VKGRAPH_CHECK(recording_ && !region_open_, "Sequence::begin_region: not recording or a region is open");
  if (!queries_) return;
  VKGRAPH_CHECK(region_labels_.size() < max_regions_, "more than {} timed regions in one recording", max_regions_);
  // A timestamp at the compute stage is written once every earlier command finished that
  // stage, so consecutive regions measure consecutive dispatches.
  vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, queries_,
                      2 * static_cast<uint32_t>(region_labels_.size()));
  region_labels_.push_back(std::move(label));
  region_open_ = true;
}

void Sequence::end_region() {
  if (!queries_) return;
  VKGRAPH_CHECK(region_open_, "Sequence::end_region without begin_region");
  vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, queries_,
                      2 * static_cast<uint32_t>(region_labels_.size() - 1) + 1);
  region_open_ = false;
}

void Sequence::end() {
  VKGRAPH_CHECK(recording_ && !region_open_, "Sequence::end: not recording or a timed region is open");
  // Results become visible to the host (mapped buffers) and to later transfers (downloads).
  memory_barrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                 VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                 VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT);
  // Written once every command before it is complete: the end of the whole recording.
  if (queries_) vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, 2 * max_regions_ + 1);
  vk_check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  recording_ = false;
  recorded_ = true;
}

void Sequence::submit_and_wait() {
  VKGRAPH_CHECK(recorded_, "Sequence::submit_and_wait before a recording was ended");
  vk_check(vkResetFences(context_->device(), 1, &fence_), "vkResetFences");
  submit(*context_, cmd_, fence_);
  last_submitted_ = std::chrono::steady_clock::now();
  wait_fence(*context_, fence_, "a command sequence");
  ++submits_;
}

std::vector<RegionTiming> Sequence::timings() const {
  std::vector<RegionTiming> out;
  if (!queries_ || region_labels_.empty() || submits_ == 0) return out;
  const uint32_t n = static_cast<uint32_t>(region_labels_.size());
  std::vector<uint64_t> ticks(2 * n);
  vk_check(vkGetQueryPoolResults(context_->device(), queries_, 0, 2 * n, ticks.size() * sizeof(uint64_t), ticks.data(),
                                 sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
           "vkGetQueryPoolResults");
  const DeviceInfo& info = context_->info();
  const uint64_t mask = info.timestamp_valid_bits >= 64 ? ~0ull : ((1ull << info.timestamp_valid_bits) - 1);
  // A region lasts until the next one begins: the barrier after a dispatch is the wait for that
  // dispatch to drain (on a CPU driver, for its slowest thread), so it belongs to it. The regions
  // of one recording then tile it, and their sum is the whole step, as a per-op profile needs.
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t end = i + 1 < n ? ticks[2 * (i + 1)] : ticks[2 * i + 1];
    const uint64_t delta = (end - ticks[2 * i]) & mask;  // wraps within the valid bits
    out.push_back({region_labels_[i], static_cast<double>(delta) * info.timestamp_period_ns / 1e6});
  }
  return out;
}

std::optional<double> Sequence::recording_ms() const {
  if (!queries_ || submits_ == 0) return std::nullopt;
  uint64_t ticks[2];
  vk_check(vkGetQueryPoolResults(context_->device(), queries_, 2 * max_regions_, 2, sizeof ticks, ticks,
                                 sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
           "vkGetQueryPoolResults");
  const DeviceInfo& info = context_->info();
  const uint64_t mask = info.timestamp_valid_bits >= 64 ? ~0ull : ((1ull << info.timestamp_valid_bits) - 1);
  return static_cast<double>((ticks[1] - ticks[0]) & mask) * info.timestamp_period_ns / 1e6;
}

}  // namespace vkgraph::vk
