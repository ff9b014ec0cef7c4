#include "engine/backend/vulkan/memory.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "engine/backend/vulkan/command.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/device_info.h"
#include "engine/backend/vulkan/device_limits.h"
#include "engine/backend/vulkan/vk_check.h"
#include "engine/core/error.h"
#include "engine/core/log.h"

namespace vkgraph::vk {

// One VkDeviceMemory with one VkBuffer over all of it; `free` maps offset -> size of holes.
struct MemoryBlock {
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkBuffer buffer = VK_NULL_HANDLE;
  uint64_t size = 0;
  std::byte* mapped = nullptr;
  bool dedicated = false;  // made for one buffer larger than the block size
  std::map<uint64_t, uint64_t> free;
  uint64_t used = 0;
};

namespace {

// Blocks are this big unless the device limits say less: large enough that a model's tensors
// come from a handful of allocations (drivers limit the count, e.g. 4096 on Windows), small
// enough not to waste much of a small heap.
constexpr uint64_t kDefaultBlockSize = 128ull << 20;
// Staging copies go through at most this much host-visible memory at a time.
constexpr uint64_t kStagingChunk = 32ull << 20;

// Uniform too: the row kernels read activations through a uniform-buffer view on CPU-class
// devices (bind_x_uniform in lowering_matmul.cpp).
constexpr VkBufferUsageFlags kUsage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

VkBuffer create_buffer(VkDevice device, uint64_t size, VkBufferUsageFlags usage) {
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = size;
  info.usage = usage;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer buffer = VK_NULL_HANDLE;
  vk_check(vkCreateBuffer(device, &info, nullptr, &buffer), "vkCreateBuffer");
  return buffer;
}

// The memory type index with all of `want` among `allowed`, preferring heap `heap` (-1: any).
int find_type(const DeviceInfo& info, uint32_t allowed, VkMemoryPropertyFlags want, int heap) {
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t i = 0; i < info.memory_types.size(); ++i) {
      if (!(allowed & (1u << i))) continue;
      if ((info.memory_types[i].flags & want) != want) continue;
      if (pass == 0 && heap >= 0 && info.memory_types[i].heap != static_cast<uint32_t>(heap)) continue;
      return static_cast<int>(i);
    }
  }
  return -1;
}

// The staging buffer, reused across the chunks of one copy: host-visible and coherent for
// uploads; for reads back, host-cached where the device has it (staging_type_for_readback), with
// the mapped range invalidated before each read when that type is not coherent.
struct Staging {
  const Context& context;
  VkDevice device;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  std::byte* mapped = nullptr;
  bool coherent = true;
  Staging(Context& ctx, uint64_t size, bool readback) : context(ctx), device(ctx.device()) {
    buffer = create_buffer(device, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device, buffer, &req);
    int type = readback ? staging_type_for_readback(ctx.info(), req.memoryTypeBits)
                        : find_type(ctx.info(), req.memoryTypeBits,
                                    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, -1);
    if (type >= 0) {
      coherent = (ctx.info().memory_types[uint32_t(type)].flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
    }
    if (type < 0) {
      vkDestroyBuffer(device, buffer, nullptr);
      fail("device '{}' has no host-visible coherent memory type for staging", ctx.info().name);
    }
    VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    alloc.allocationSize = req.size;
    alloc.memoryTypeIndex = static_cast<uint32_t>(type);
    VkResult r = vkAllocateMemory(device, &alloc, nullptr, &memory);
    if (r != VK_SUCCESS) {
      vkDestroyBuffer(device, buffer, nullptr);
      fail("allocating a {} staging buffer on device '{}' failed: {}", format_bytes(size), ctx.info().name,
           result_name(r));
    }
    vk_check(vkBindBufferMemory(device, buffer, memory, 0), "vkBindBufferMemory (staging)");
    void* p = nullptr;
    vk_check(vkMapMemory(device, memory, 0, VK_WHOLE_SIZE, 0, &p), "vkMapMemory (staging)");
    mapped = static_cast<std::byte*>(p);
  }
  // Makes the device's writes visible to host reads of the mapping (non-coherent memory).
  void invalidate() const {
    if (coherent) return;
    VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
    range.memory = memory;
    range.size = VK_WHOLE_SIZE;
    vk_check(vkInvalidateMappedMemoryRanges(device, 1, &range), "vkInvalidateMappedMemoryRanges (staging)");
  }
  ~Staging() {
    if (context.hung()) return;  // a timed-out copy may still read or write it
    vkDestroyBuffer(device, buffer, nullptr);
    vkFreeMemory(device, memory, nullptr);
  }
};

}  // namespace

bool reads_directly(const DeviceInfo& info, uint32_t type) {
  return type < info.memory_types.size() && (info.memory_types[type].flags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) != 0;
}

int staging_type_for_readback(const DeviceInfo& info, uint32_t allowed) {
  constexpr VkMemoryPropertyFlags visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
  constexpr VkMemoryPropertyFlags cached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
  constexpr VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  for (VkMemoryPropertyFlags want : {visible | cached | coherent, visible | cached}) {
    if (int type = find_type(info, allowed, want, -1); type >= 0) return type;
  }
  // No cached type: system memory (not device-local: that would be the uncached BAR again).
  for (uint32_t i = 0; i < info.memory_types.size(); ++i) {
    const VkMemoryPropertyFlags f = info.memory_types[i].flags;
    if ((allowed & (1u << i)) && (f & (visible | coherent)) == (visible | coherent) &&
        !(f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) {
      return int(i);
    }
  }
  return find_type(info, allowed, visible | coherent, -1);
}

// --- Buffer ----------------------------------------------------------------------------------

Buffer::~Buffer() {
  if (allocator_) allocator_->release(*this);
}

Buffer::Buffer(Buffer&& other) noexcept { *this = std::move(other); }

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    if (allocator_) allocator_->release(*this);
    allocator_ = std::exchange(other.allocator_, nullptr);
    block_ = std::exchange(other.block_, nullptr);
    offset_ = std::exchange(other.offset_, 0);
    size_ = std::exchange(other.size_, 0);
    reserved_ = std::exchange(other.reserved_, 0);
    label_ = std::move(other.label_);
  }
  return *this;
}

VkBuffer Buffer::handle() const { return block_ ? block_->buffer : VK_NULL_HANDLE; }

std::byte* Buffer::mapped() const { return block_ && block_->mapped ? block_->mapped + offset_ : nullptr; }

BufferRange Buffer::range(VkDeviceSize offset, VkDeviceSize size) const {
  VKGRAPH_CHECK(offset <= size_ && size <= size_ - offset, "range [{}, +{}) is outside buffer '{}' of {} bytes", offset,
                size, label_, size_);
  return {handle(), offset_ + offset, size};
}

// --- MemoryAllocator -------------------------------------------------------------------------

MemoryAllocator::MemoryAllocator(Context& context) : context_(context) {
  const DeviceInfo& info = context.info();
  VkBuffer probe = create_buffer(context.device(), 4096, kUsage);
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(context.device(), probe, &req);
  vkDestroyBuffer(context.device(), probe, nullptr);

  int main_heap = -1;
  for (uint32_t i = 0; i < info.memory_heaps.size(); ++i) {
    if (info.memory_heaps[i].device_local &&
        (main_heap < 0 || info.memory_heaps[i].size > info.memory_heaps[static_cast<uint32_t>(main_heap)].size)) {
      main_heap = static_cast<int>(i);
    }
  }
  // Host-visible device-local memory only when it is on the main device-local heap: on discrete
  // GPUs without resizable BAR that type lives on a small 256 MiB heap and would run out.
  const VkMemoryPropertyFlags direct =
      VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int type = find_type(info, req.memoryTypeBits, direct, main_heap);
  if (type >= 0 && info.memory_types[static_cast<uint32_t>(type)].heap == static_cast<uint32_t>(main_heap)) {
    host_visible_ = true;
  } else {
    type = find_type(info, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, main_heap);
    if (type < 0) {
      // No device-local type at all (unusual software drivers): plain host memory, mapped.
      type = find_type(info, req.memoryTypeBits,
                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, -1);
      host_visible_ = true;
    }
  }
  VKGRAPH_CHECK(type >= 0, "device '{}' offers no memory type usable for storage buffers", info.name);
  if (context.request().force_staging &&
      (info.memory_types[static_cast<uint32_t>(type)].flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) {
    host_visible_ = false;  // keep the blocks unmapped; copies go through staging
  }
  memory_type_ = static_cast<uint32_t>(type);
  reads_directly_ = host_visible_ && reads_directly(info, memory_type_);

  alignment_ = std::max<uint64_t>({info.min_storage_buffer_offset_alignment, req.alignment, 16});
  max_row_ranges_buffer_bytes_ = info.max_memory_allocation_size;
  if (info.max_buffer_size) max_row_ranges_buffer_bytes_ = std::min(max_row_ranges_buffer_bytes_, info.max_buffer_size);
  max_buffer_bytes_ = std::min(info.max_storage_buffer_range, max_row_ranges_buffer_bytes_);
  const uint64_t heap_size = info.memory_heaps[info.memory_types[memory_type_].heap].size;
  block_size_ =
      std::min({kDefaultBlockSize, info.max_memory_allocation_size, std::max<uint64_t>(heap_size / 4, 1 << 20)});
  if (info.max_buffer_size) block_size_ = std::min(block_size_, info.max_buffer_size);
  block_size_ = block_size_ / alignment_ * alignment_;
  heap_bytes_ = heap_size;
  if (limit_overrides().heap) heap_limit_ = heap_size;  // already lowered by apply_limit_overrides
  log::debug("vulkan memory: type {} ({}), blocks of {}, largest buffer {}", memory_type_,
             host_visible_ ? "device-local, host-visible" : "device-local, staged", format_bytes(block_size_),
             format_bytes(max_buffer_bytes_));
}

MemoryAllocator::~MemoryAllocator() {
  if (live_ != 0) log::warn("vulkan memory: {} buffer(s) still alive when the device is destroyed", live_);
  for (auto& block : blocks_) {
    vkDestroyBuffer(context_.device(), block->buffer, nullptr);
    vkFreeMemory(context_.device(), block->memory, nullptr);
  }
}

MemoryBlock* MemoryAllocator::new_block(uint64_t bytes, const std::string& label) {
  auto block = std::make_unique<MemoryBlock>();
  block->size = bytes;
  block->buffer = create_buffer(context_.device(), bytes, kUsage);
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(context_.device(), block->buffer, &req);
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = memory_type_;
  uint64_t held = 0;
  for (const auto& b : blocks_) held += b->size;
  // A heap limited by VKGRAPH_LIMIT_HEAP behaves like a full heap; an injected failure
  // (vk_check.h) replaces the call so no memory is left behind.
  VkResult r = injected_result("vkAllocateMemory", VK_SUCCESS);
  if (r == VK_SUCCESS && heap_limit_ != 0 && held + req.size > heap_limit_) r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
  if (r == VK_SUCCESS) r = vkAllocateMemory(context_.device(), &alloc, nullptr, &block->memory);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(context_.device(), block->buffer, nullptr);
    const DeviceInfo& info = context_.info();
    fail(
        "out of device memory on '{}': vkAllocateMemory of a {} block for '{}' failed ({}); in use {}, held {}, "
        "heap {}",
        info.name, format_bytes(bytes), label.empty() ? "buffer" : label, result_name(r), format_bytes(in_use_),
        format_bytes(held), format_bytes(info.memory_heaps[info.memory_types[memory_type_].heap].size));
  }
  vk_check(vkBindBufferMemory(context_.device(), block->buffer, block->memory, 0), "vkBindBufferMemory");
  if (host_visible_) {
    void* p = nullptr;
    vk_check(vkMapMemory(context_.device(), block->memory, 0, VK_WHOLE_SIZE, 0, &p), "vkMapMemory");
    block->mapped = static_cast<std::byte*>(p);
  }
  block->free[0] = bytes;
  blocks_.push_back(std::move(block));
  return blocks_.back().get();
}

Buffer MemoryAllocator::allocate(uint64_t bytes, std::string label, Binding binding) {
  const DeviceInfo& info = context_.info();
  const std::string name = label.empty() ? std::string("buffer") : label;
  VKGRAPH_CHECK(bytes > 0, "cannot allocate an empty device buffer ('{}')", name);
  VKGRAPH_CHECK(binding == Binding::row_ranges || bytes <= info.max_storage_buffer_range,
                "'{}' needs a {} ({} bytes) storage buffer; device '{}' allows at most maxStorageBufferRange = {} "
                "({} bytes): split it into chunks",
                name, format_bytes(bytes), bytes, info.name, format_bytes(info.max_storage_buffer_range),
                info.max_storage_buffer_range);
  VKGRAPH_CHECK(bytes <= info.max_memory_allocation_size,
                "'{}' needs a {} ({} bytes) buffer; device '{}' allows at most maxMemoryAllocationSize = {} ({} bytes)",
                name, format_bytes(bytes), bytes, info.name, format_bytes(info.max_memory_allocation_size),
                info.max_memory_allocation_size);
  VKGRAPH_CHECK(info.max_buffer_size == 0 || bytes <= info.max_buffer_size,
                "'{}' needs a {} buffer; device '{}' allows at most maxBufferSize = {}", name, format_bytes(bytes),
                info.name, format_bytes(info.max_buffer_size));
  const uint64_t need = align_up(bytes, alignment_);

  std::lock_guard lock(mutex_);
  MemoryBlock* block = nullptr;
  uint64_t offset = 0;
  if (need > block_size_) {
    block = new_block(need, name);
    block->dedicated = true;
  } else {
    for (auto& b : blocks_) {
      if (b->dedicated) continue;
      for (auto& [off, size] : b->free) {
        if (size >= need) {
          block = b.get();
          offset = off;
          break;
        }
      }
      if (block) break;
    }
    if (!block) block = new_block(block_size_, name);
  }
  // Carve [offset, offset+need) out of the hole starting at offset.
  auto hole = block->free.find(offset);
  const uint64_t hole_size = hole->second;
  block->free.erase(hole);
  if (hole_size > need) block->free[offset + need] = hole_size - need;
  block->used += need;

  in_use_ += need;
  peak_ = std::max(peak_, in_use_);
  ++live_;

  Buffer buffer;
  buffer.allocator_ = this;
  buffer.block_ = block;
  buffer.offset_ = offset;
  buffer.size_ = bytes;
  buffer.reserved_ = need;
  buffer.label_ = std::move(label);
  return buffer;
}

void MemoryAllocator::release(Buffer& buffer) {
  if (!buffer.block_) return;
  std::lock_guard lock(mutex_);
  if (context_.hung()) {
    // A timed-out submission may still use the range: never hand it out again or free it.
    --live_;
    buffer.block_ = nullptr;
    buffer.allocator_ = nullptr;
    return;
  }
  MemoryBlock* block = buffer.block_;
  uint64_t offset = buffer.offset_;
  uint64_t size = buffer.reserved_;
  // Insert the hole and merge it with its neighbours.
  auto next = block->free.lower_bound(offset);
  if (next != block->free.end() && offset + size == next->first) {
    size += next->second;
    next = block->free.erase(next);
  }
  if (next != block->free.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      offset = prev->first;
      size += prev->second;
      block->free.erase(prev);
    }
  }
  block->free[offset] = size;
  block->used -= buffer.reserved_;
  in_use_ -= buffer.reserved_;
  --live_;
  buffer.block_ = nullptr;
  buffer.allocator_ = nullptr;

  // Give an empty block back to the driver when it was dedicated or another empty block is
  // already kept (one spare avoids churn when a caller frees and reallocates in a loop).
  if (block->used == 0) {
    bool other_empty = false;
    for (auto& b : blocks_) {
      if (b.get() != block && !b->dedicated && b->used == 0) other_empty = true;
    }
    if (block->dedicated || other_empty) {
      vkDestroyBuffer(context_.device(), block->buffer, nullptr);
      vkFreeMemory(context_.device(), block->memory, nullptr);
      blocks_.erase(std::find_if(blocks_.begin(), blocks_.end(), [block](auto& b) { return b.get() == block; }));
    }
  }
}

void MemoryAllocator::upload(const Buffer& dst, uint64_t offset, std::span<const std::byte> bytes) {
  VKGRAPH_CHECK(dst, "upload into an empty buffer");
  VKGRAPH_CHECK(offset <= dst.size() && bytes.size() <= dst.size() - offset,
                "upload of {} bytes at offset {} overflows buffer '{}' of {} bytes", bytes.size(), offset, dst.label(),
                dst.size());
  if (bytes.empty()) return;
  if (std::byte* p = dst.mapped()) {
    std::memcpy(p + offset, bytes.data(), bytes.size());
    return;
  }
  copy_via_staging(dst, offset, bytes, {});
}

void MemoryAllocator::download(const Buffer& src, uint64_t offset, std::span<std::byte> out) {
  VKGRAPH_CHECK(src, "download from an empty buffer");
  VKGRAPH_CHECK(offset <= src.size() && out.size() <= src.size() - offset,
                "download of {} bytes at offset {} overflows buffer '{}' of {} bytes", out.size(), offset, src.label(),
                src.size());
  if (out.empty()) return;
  if (const std::byte* p = src.mapped(); p != nullptr && reads_directly_) {
    std::memcpy(out.data(), p + offset, out.size());
    return;
  }
  copy_via_staging(src, offset, {}, out);
}

void MemoryAllocator::fill_zero(const Buffer& dst, uint64_t offset, uint64_t size) {
  VKGRAPH_CHECK(dst, "fill of an empty buffer");
  VKGRAPH_CHECK(offset <= dst.size(), "fill offset {} is outside buffer '{}' of {} bytes", offset, dst.label(),
                dst.size());
  if (size == 0) size = dst.size() - offset;
  VKGRAPH_CHECK(size <= dst.size() - offset, "fill of {} bytes at offset {} overflows buffer '{}' of {} bytes", size,
                offset, dst.label(), dst.size());
  if (std::byte* p = dst.mapped()) {
    std::memset(p + offset, 0, size);
    return;
  }
  // vkCmdFillBuffer wants 4-byte aligned offset and size; the rare unaligned edges are uploaded.
  const uint64_t begin = align_up(offset, 4);
  const uint64_t end = std::max(begin, (offset + size) / 4 * 4);
  const std::vector<std::byte> zeros(4);
  if (begin > offset) upload(dst, offset, std::span(zeros).first(std::min<uint64_t>(begin - offset, size)));
  if (end > begin) {
    const VkBuffer buffer = dst.handle();
    const VkDeviceSize at = dst.offset() + begin;
    run_one_shot(context_, [&](VkCommandBuffer cmd) {
      vkCmdFillBuffer(cmd, buffer, at, end - begin, 0);
      VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
      barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
      barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                              VK_ACCESS_TRANSFER_WRITE_BIT;
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &barrier, 0,
                           nullptr, 0, nullptr);
    });
  }
  if (offset + size > end && end >= begin) upload(dst, end, std::span(zeros).first(offset + size - end));
}

void MemoryAllocator::copy_via_staging(const Buffer& buffer, uint64_t offset, std::span<const std::byte> in,
                                       std::span<std::byte> out) {
  const uint64_t total = in.empty() ? out.size() : in.size();
  Staging staging(context_, std::min(total, kStagingChunk), in.empty());
  for (uint64_t done = 0; done < total; done += kStagingChunk) {
    const uint64_t n = std::min(kStagingChunk, total - done);
    VkBufferCopy region{};
    region.size = n;
    if (!in.empty()) {
      std::memcpy(staging.mapped, in.data() + done, n);
      region.srcOffset = 0;
      region.dstOffset = buffer.offset() + offset + done;
      run_one_shot(context_, [&](VkCommandBuffer cmd) {
        vkCmdCopyBuffer(cmd, staging.buffer, buffer.handle(), 1, &region);
        // Make the copy visible to every later command on the queue (kernels, copies).
        VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                                VK_ACCESS_TRANSFER_WRITE_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &barrier, 0,
                             nullptr, 0, nullptr);
      });
    } else {
      region.srcOffset = buffer.offset() + offset + done;
      region.dstOffset = 0;
      run_one_shot(context_, [&](VkCommandBuffer cmd) {
        // Earlier kernels' writes must be done before the copy reads them.
        VkMemoryBarrier before{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        before.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        before.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0,
                             nullptr, 0, nullptr);
        vkCmdCopyBuffer(cmd, buffer.handle(), staging.buffer, 1, &region);
        VkMemoryBarrier after{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        after.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        after.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &after, 0, nullptr,
                             0, nullptr);
      });
      staging.invalidate();
      std::memcpy(out.data() + done, staging.mapped, n);
    }
  }
}

MemoryStats MemoryAllocator::stats() const {
  std::lock_guard lock(mutex_);
  MemoryStats s;
  s.bytes_in_use = in_use_;
  s.peak_bytes = peak_;
  for (const auto& b : blocks_) s.bytes_reserved += b->size;
  s.block_count = static_cast<uint32_t>(blocks_.size());
  s.live_buffers = live_;
  s.host_visible = host_visible_;
  return s;
}

void MemoryAllocator::reset_peak() {
  std::lock_guard lock(mutex_);
  peak_ = in_use_;
}

}  // namespace vkgraph::vk
