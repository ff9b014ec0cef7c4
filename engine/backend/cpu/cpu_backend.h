#pragma once
// The CPU reference backend: every op in plain C++, the ground truth of the differential tests.
// Storage is host memory; an Executable owns the plan's arena, input and output buffers.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/backend/backend.h"

namespace vkgraph::cpu {

// Host bytes of a weight or state, zero-initialized; aligned as operator new (>= 16 bytes), enough
// for every element type.
class CpuStorage final : public Storage {
 public:
  explicit CpuStorage(size_t bytes);
  size_t bytes() const override { return bytes_; }
  const char* backend_name() const override { return "cpu"; }
  std::byte* data() { return data_.data(); }
  const std::byte* data() const { return data_.data(); }

 private:
  size_t bytes_;
  std::vector<std::byte> data_;
};

class CpuExecutable;

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string device_name() const override;

  std::shared_ptr<Storage> upload(std::span<const std::byte> data) override;
  std::shared_ptr<Storage> allocate_state(size_t bytes) override;
  void read_storage(const Storage& storage, size_t offset, std::span<std::byte> out) override;
  void write_storage(Storage& storage, size_t offset, std::span<const std::byte> data) override;
  std::unique_ptr<Executable> prepare(const Plan& plan, const PrepareOptions& options = {}) override;
  size_t storage_bytes() const override { return storage_bytes_; }

  DeviceRecord device_record() const override;
  // The reference runs every op on every type the engine has.
  bool supports(OpKind op, DType type) const override;
  // Every fusion but rms_norm_low_rank: the reference runs the adapter products that op takes in
  // as the graph states them (a dispatch costs it nothing), so the Vulkan op cases check the
  // fused kernel against the unfused ops.
  std::vector<OpKind> fused_ops() const override { return fused_op_kinds_except(OpKind::rms_norm_low_rank); }
  // A threaded memcpy (cpu_device.h).
  std::optional<CopyBandwidth> measure_copy_bandwidth() override;

 private:
  size_t storage_bytes_ = 0;
};

class CpuExecutable final : public Executable {
 public:
  CpuExecutable(const Plan& plan, const PrepareOptions& options);
  void set_input(TensorId id, std::span<const std::byte> data) override;
  void run() override;
  void read_output(TensorId id, std::span<std::byte> out) override;
  size_t device_bytes() const override;

  // The bytes of any tensor of the plan in this executable (tests and debugging; a test uses it
  // to write past an output on purpose and check that the guard catches it).
  std::byte* tensor_data(TensorId id);

 private:
  struct Buffer {
    std::vector<std::byte> bytes;  // guard + payload + guard
    size_t payload = 0;
  };
  Plan plan_;
  size_t guard_bytes_ = 0;
  std::vector<std::byte> arena_;
  std::vector<Buffer> buffers_;  // by node index: inputs and outputs own one
};

}  // namespace vkgraph::cpu
