#include "engine/backend/vulkan/backend_vulkan.h"

#include <algorithm>

#include "engine/backend/vulkan/device_info.h"
#include "engine/backend/vulkan/device_records.h"
#include "engine/backend/vulkan/executable_vulkan.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/memory.h"
#include "engine/backend/vulkan/probe_kernels.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// Allocations must be non-empty; a zero-byte tensor still gets a minimal buffer.
constexpr size_t kMinBufferBytes = 16;

}  // namespace

VulkanStorage::VulkanStorage(Buffer buffer, size_t bytes, std::shared_ptr<std::atomic<size_t>> total)
    : buffer_(std::move(buffer)), bytes_(bytes), total_(std::move(total)) {
  *total_ += bytes_;
}

VulkanStorage::~VulkanStorage() { *total_ -= bytes_; }

const VulkanStorage& vulkan_storage(const vkgraph::Storage& storage, std::string_view what) {
  const auto* vs = dynamic_cast<const VulkanStorage*>(&storage);
  VKGRAPH_CHECK(vs != nullptr, "{}: storage belongs to backend '{}', not 'vulkan'", what, storage.backend_name());
  return *vs;
}

VulkanBackend::VulkanBackend(std::shared_ptr<Context> context)
    : context_(std::move(context)), storage_bytes_(std::make_shared<std::atomic<size_t>>(0)) {}

VulkanBackend::~VulkanBackend() = default;

std::string VulkanBackend::device_name() const { return context_->info().name; }

void VulkanBackend::check_weights_fit(std::span<const WeightSize> weights) const {
  const DeviceInfo& info = context_->info();
  const MemoryAllocator& memory = context_->memory();
  uint64_t total = 0;
  for (const WeightSize& w : weights) {
    const uint64_t bytes = std::max(w.bytes, kMinBufferBytes);
    // A weight larger than one binding (maxStorageBufferRange: an embedding table of a large
    // vocabulary on lavapipe's 128 MiB) is bound in ranges of rows by the ops that read such
    // tables, get_rows and matmul (lowering_row_ranges.cpp); any other op binding it whole is
    // refused when its plan is lowered, naming the tensor and the limit. It must still be one
    // allocation.
    if (bytes > info.max_memory_allocation_size) {
      fail("tensor '{}' is {} ({} bytes); device '{}' allocates at most maxMemoryAllocationSize = {} ({} bytes)",
           w.name, format_bytes(bytes), bytes, info.name, format_bytes(info.max_memory_allocation_size),
           info.max_memory_allocation_size);
    }
    VKGRAPH_CHECK(bytes <= memory.max_row_ranges_buffer_bytes(),
                  "tensor '{}' is {} ({} bytes); device '{}' allows buffers of at most {}", w.name, format_bytes(bytes),
                  bytes, info.name, format_bytes(memory.max_row_ranges_buffer_bytes()));
    total += bytes;
  }
  const uint64_t heap = memory.heap_bytes();
  const uint64_t held = memory.stats().bytes_reserved;
  if (heap != 0 && total + held > heap) {
    fail(
        "the weights need {} ({} bytes) of device memory; device '{}' has {} ({} bytes){}: use a smaller or more "
        "quantized model (--weights q4_0) or another device",
        format_bytes(total), total, info.name, format_bytes(heap), heap,
        held ? fmt::format(", {} of it already held", format_bytes(held)) : std::string());
  }
}

std::shared_ptr<vkgraph::Storage> VulkanBackend::upload(std::span<const std::byte> data) {
  Buffer buffer = context_->memory().allocate(std::max(data.size(), kMinBufferBytes), "weight",
                                              MemoryAllocator::Binding::row_ranges);
  if (!data.empty()) context_->memory().upload(buffer, 0, data);
  return std::make_shared<VulkanStorage>(std::move(buffer), data.size(), storage_bytes_);
}

std::shared_ptr<vkgraph::Storage> VulkanBackend::allocate_state(size_t bytes) {
  Buffer buffer = context_->memory().allocate(std::max(bytes, kMinBufferBytes), "state");
  context_->memory().fill_zero(buffer);
  return std::make_shared<VulkanStorage>(std::move(buffer), bytes, storage_bytes_);
}

void VulkanBackend::read_storage(const vkgraph::Storage& storage, size_t offset, std::span<std::byte> out) {
  const VulkanStorage& vs = vulkan_storage(storage, "read_storage");
  VKGRAPH_CHECK(offset <= vs.bytes() && out.size() <= vs.bytes() - offset,
                "read_storage: [{}, +{}) is outside a storage of {} bytes", offset, out.size(), vs.bytes());
  if (!out.empty()) context_->memory().download(vs.buffer(), offset, out);
}

void VulkanBackend::write_storage(vkgraph::Storage& storage, size_t offset, std::span<const std::byte> data) {
  const VulkanStorage& vs = vulkan_storage(storage, "write_storage");
  VKGRAPH_CHECK(offset <= vs.bytes() && data.size() <= vs.bytes() - offset,
                "write_storage: [{}, +{}) is outside a storage of {} bytes", offset, data.size(), vs.bytes());
  if (!data.empty()) context_->memory().upload(vs.buffer(), offset, data);
}

std::unique_ptr<Executable> VulkanBackend::prepare(const Plan& plan, const PrepareOptions& options) {
  return std::make_unique<VulkanExecutable>(context_, plan, options);
}

DeviceRecord VulkanBackend::device_record() const { return vulkan_device_record(context_->info(), false); }

bool VulkanBackend::supports(OpKind op, DType type) const {
  for (const KernelRow& row : kernel_table()) {
    if (row.key.op == op && row.key.a == type && device_supports(context_->info(), row.variant.requirements)) {
      return true;
    }
  }
  return false;
}

std::vector<OpKind> VulkanBackend::fused_ops() const {
  std::vector<OpKind> ops;
  for (OpKind op : fused_op_kinds()) {
    for (const KernelRow& row : kernel_table()) {
      if (row.key.op == op) {
        ops.push_back(op);
        break;
      }
    }
  }
  return ops;
}

std::optional<KernelChoice> VulkanBackend::kernel_choice(const Graph& graph, const Node& node) const {
  const KernelRow& row = select_kernel_row(context_->info(), kernel_key(graph, node));
  const KernelRequirements& req = row.variant.requirements;
  return KernelChoice{kernel_row_name(row),
                      !req.coopmat ? "portable" : (req.coopmat_emulated ? "coopmat (emulated)" : "coopmat"), row.why};
}

std::optional<CopyBandwidth> VulkanBackend::measure_copy_bandwidth() {
  const CopyProbe probe = vk::measure_copy_bandwidth(context_);
  return CopyBandwidth{probe.bytes_per_second, probe.timestamps ? "copy shader, timestamps" : "copy shader, wall time"};
}

std::unique_ptr<Backend> create_vulkan_backend(const std::string& device) {
  DeviceRequest request;
  request.device = device;
  return std::make_unique<VulkanBackend>(Context::create(request));
}

}  // namespace vkgraph::vk
