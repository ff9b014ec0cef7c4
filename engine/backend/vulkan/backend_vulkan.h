#pragma once
// The Vulkan backend: weights and state as device buffers, plans prepared into executables
// whose command buffer is recorded once and replayed (executable_vulkan.h).

#include <atomic>
#include <memory>
#include <string>

#include "engine/backend/backend.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/memory.h"

namespace vkgraph::vk {

// A weight or state tensor on the device. Counts its bytes into its backend's total.
class VulkanStorage final : public Storage {
 public:
  VulkanStorage(Buffer buffer, size_t bytes, std::shared_ptr<std::atomic<size_t>> total);
  ~VulkanStorage() override;
  size_t bytes() const override { return bytes_; }
  const char* backend_name() const override { return "vulkan"; }
  const Buffer& buffer() const { return buffer_; }

 private:
  Buffer buffer_;
  size_t bytes_;
  std::shared_ptr<std::atomic<size_t>> total_;
};

class VulkanBackend final : public Backend {
 public:
  explicit VulkanBackend(std::shared_ptr<Context> context);
  ~VulkanBackend() override;

  std::string name() const override { return "vulkan"; }
  std::string device_name() const override;

  void check_weights_fit(std::span<const WeightSize> weights) const override;
  std::shared_ptr<vkgraph::Storage> upload(std::span<const std::byte> data) override;
  std::shared_ptr<vkgraph::Storage> allocate_state(size_t bytes) override;
  void read_storage(const vkgraph::Storage& storage, size_t offset, std::span<std::byte> out) override;
  void write_storage(vkgraph::Storage& storage, size_t offset, std::span<const std::byte> data) override;
  std::unique_ptr<Executable> prepare(const Plan& plan, const PrepareOptions& options = {}) override;
  size_t storage_bytes() const override { return *storage_bytes_; }

  DeviceRecord device_record() const override;
  // A row of the kernel table has the op and type and the device can run it.
  bool supports(OpKind op, DType type) const override;
  // The fused ops the kernel table has rows for.
  std::vector<OpKind> fused_ops() const override;
  // The kernel table's row for the node on this device ("coopmat" or "portable").
  std::optional<KernelChoice> kernel_choice(const Graph& graph, const Node& node) const override;
  // The copy shader (probe_kernels.h).
  std::optional<CopyBandwidth> measure_copy_bandwidth() override;

  const std::shared_ptr<Context>& context() const { return context_; }

 private:
  std::shared_ptr<Context> context_;
  std::shared_ptr<std::atomic<size_t>> storage_bytes_;
};

// The Vulkan backend on the device `device` selects (index or name substring, "" = default;
// see device_select.h). Used by engine/backend/registry.
std::unique_ptr<Backend> create_vulkan_backend(const std::string& device);

// The storage of a tensor, checked to be a Vulkan one; Error naming `what` otherwise.
const VulkanStorage& vulkan_storage(const vkgraph::Storage& storage, std::string_view what);

}  // namespace vkgraph::vk
