#pragma once
// Device buffers sub-allocated from large blocks of device memory. Each block is one
// VkDeviceMemory bound to one VkBuffer; a Buffer is an aligned (offset, size) range inside it,
// so descriptors bind (block buffer, offset, size). Device-local memory is used; where a
// device-local type is also host-visible and coherent on the main heap (integrated GPUs, CPU
// drivers like lavapipe, resizable BAR) buffers are mapped and written directly, otherwise
// uploads and downloads go through a staging buffer and a one-shot copy.

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace vkgraph::vk {

class Context;
struct DeviceInfo;
class MemoryAllocator;
struct MemoryBlock;

// A range of a buffer for a descriptor binding.
struct BufferRange {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
};

// A sub-allocation; freed when destroyed (move-only). Must not outlive its Context's allocator.
class Buffer {
 public:
  Buffer() = default;
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  explicit operator bool() const { return block_ != nullptr; }
  VkBuffer handle() const;
  VkDeviceSize offset() const { return offset_; }  // within handle()
  VkDeviceSize size() const { return size_; }      // as requested
  // Host pointer to the first byte when the memory is host-visible, else nullptr.
  std::byte* mapped() const;
  // The whole buffer, or [offset, offset+size) of it, for a descriptor.
  BufferRange range() const { return {handle(), offset_, size_}; }
  BufferRange range(VkDeviceSize offset, VkDeviceSize size) const;
  const std::string& label() const { return label_; }

 private:
  friend class MemoryAllocator;
  MemoryAllocator* allocator_ = nullptr;
  MemoryBlock* block_ = nullptr;
  VkDeviceSize offset_ = 0;
  VkDeviceSize size_ = 0;
  VkDeviceSize reserved_ = 0;  // size rounded up to the alignment (what the block gave)
  std::string label_;
};

struct MemoryStats {
  uint64_t bytes_in_use = 0;    // sum of live Buffer sizes (rounded to alignment)
  uint64_t peak_bytes = 0;      // high-water mark of bytes_in_use
  uint64_t bytes_reserved = 0;  // device memory held in blocks
  uint32_t block_count = 0;
  uint32_t live_buffers = 0;
  bool host_visible = false;  // buffers are mapped directly (no staging)
};

// How download() reads a mapped buffer in memory type `type`: directly only when the type is
// host-cached. Mapped memory that is not (device-local host-visible memory: resizable BAR on a
// discrete GPU) is read over PCIe uncached, word by word, many times slower than a GPU copy into
// host-cached memory; those reads go through a staging buffer of staging_type_for_readback.
bool reads_directly(const DeviceInfo& info, uint32_t type);
// The staging memory type for reads back to the host among `allowed` types: host-visible and
// host-cached (coherent first), else host-visible coherent system memory, else any host-visible
// coherent type; -1 if none.
int staging_type_for_readback(const DeviceInfo& info, uint32_t allowed);

class MemoryAllocator {
 public:
  explicit MemoryAllocator(Context& context);
  ~MemoryAllocator();
  MemoryAllocator(const MemoryAllocator&) = delete;
  MemoryAllocator& operator=(const MemoryAllocator&) = delete;

  // How a buffer's contents are bound: whole by one descriptor, so at most maxStorageBufferRange,
  // or in ranges of rows (weights: the matmul and get_rows lowerings bind a tensor larger than
  // one descriptor as several row ranges, lowering_row_ranges.cpp), so up to the allocation and
  // buffer-size limits.
  enum class Binding { whole, row_ranges };

  // A storage buffer of `bytes` (> 0), aligned to minStorageBufferOffsetAlignment. Throws
  // Error naming `label`, the size and the limit when it exceeds maxStorageBufferRange (bound
  // whole) or maxMemoryAllocationSize, or when the device is out of memory. Contents are
  // undefined.
  Buffer allocate(uint64_t bytes, std::string label = {}, Binding binding = Binding::whole);

  // Host <-> device copies of `dst`/`src` starting at `offset` (bounds-checked).
  void upload(const Buffer& dst, uint64_t offset, std::span<const std::byte> bytes);
  void download(const Buffer& src, uint64_t offset, std::span<std::byte> out);
  // Zeroes [offset, offset+size) of `dst` (size 0 = to the end).
  void fill_zero(const Buffer& dst, uint64_t offset = 0, uint64_t size = 0);

  MemoryStats stats() const;
  void reset_peak();
  bool host_visible() const { return host_visible_; }
  uint64_t block_size() const { return block_size_; }
  // The largest buffer allocate() accepts on this device: bound whole, and bound in row ranges.
  uint64_t max_buffer_bytes() const { return max_buffer_bytes_; }
  uint64_t max_row_ranges_buffer_bytes() const { return max_row_ranges_buffer_bytes_; }
  // The size of the heap buffers come from (after VKGRAPH_LIMIT_HEAP).
  uint64_t heap_bytes() const { return heap_bytes_; }

 private:
  friend class Buffer;
  void release(Buffer& buffer);
  MemoryBlock* new_block(uint64_t bytes, const std::string& label);
  void copy_via_staging(const Buffer& buffer, uint64_t offset, std::span<const std::byte> in, std::span<std::byte> out);

  Context& context_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<MemoryBlock>> blocks_;
  uint32_t memory_type_ = 0;
  bool host_visible_ = false;
  bool reads_directly_ = false;  // reads_directly(memory_type_) and host_visible_
  uint64_t alignment_ = 256;
  uint64_t block_size_ = 0;
  uint64_t max_buffer_bytes_ = 0;
  uint64_t max_row_ranges_buffer_bytes_ = 0;
  uint64_t heap_bytes_ = 0;
  uint64_t heap_limit_ = 0;  // VKGRAPH_LIMIT_HEAP: blocks may hold at most this much (0: the driver decides)
  uint64_t in_use_ = 0;
  uint64_t peak_ = 0;
  uint32_t live_ = 0;
};

}  // namespace vkgraph::vk
