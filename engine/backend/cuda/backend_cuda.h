#pragma once
// The CUDA backend's classes (internal to engine/backend/cuda; others use cuda_backend.h):
// weights and state as device buffers, and plans prepared into CudaExecutables.

#include <atomic>
#include <memory>
#include <string>

#include "engine/backend/backend.h"
#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/cuda/device_buffer.h"

namespace vkgraph::cuda {

// A weight or state tensor on the device. Counts its bytes into its backend's total.
class CudaStorage final : public Storage {
 public:
  CudaStorage(DeviceBuffer buffer, size_t bytes, std::shared_ptr<std::atomic<size_t>> total);
  ~CudaStorage() override;
  size_t bytes() const override { return bytes_; }
  const char* backend_name() const override { return "cuda"; }
  std::byte* data() const { return buffer_.data(); }
  int device() const { return buffer_.device(); }

 private:
  DeviceBuffer buffer_;
  size_t bytes_;
  std::shared_ptr<std::atomic<size_t>> total_;
};

// The storage of a tensor, checked to be a CUDA one; Error naming `what` otherwise.
const CudaStorage& cuda_storage(const Storage& storage, std::string_view what);

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(CudaDeviceInfo device);

  std::string name() const override { return "cuda"; }
  std::string device_name() const override;

  void check_weights_fit(std::span<const WeightSize> weights) const override;
  std::shared_ptr<Storage> upload(std::span<const std::byte> data) override;
  std::shared_ptr<Storage> allocate_state(size_t bytes) override;
  void read_storage(const Storage& storage, size_t offset, std::span<std::byte> out) override;
  void write_storage(Storage& storage, size_t offset, std::span<const std::byte> data) override;
  std::unique_ptr<Executable> prepare(const Plan& plan, const PrepareOptions& options = {}) override;
  size_t storage_bytes() const override { return *storage_bytes_; }

  DeviceRecord device_record() const override;
  // Every op on every type the engine has (kernels_*.cu, step_launch.cpp).
  bool supports(OpKind op, DType type) const override;
  // rms_norm_low_rank has no CUDA kernel: the adapter products it takes in run as the graph
  // states them.
  std::vector<OpKind> fused_ops() const override { return fused_op_kinds_except(OpKind::rms_norm_low_rank); }

  const CudaDeviceInfo& device() const { return device_; }

 private:
  CudaDeviceInfo device_;
  std::shared_ptr<std::atomic<size_t>> storage_bytes_ = std::make_shared<std::atomic<size_t>>(0);
};

}  // namespace vkgraph::cuda
