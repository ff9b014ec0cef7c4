#include "engine/backend/cuda/backend_cuda.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/executable_cuda.h"
#include "engine/core/error.h"

namespace vkgraph::cuda {
namespace {

void check_range(const Storage& s, size_t offset, size_t bytes, const char* what) {
  VKGRAPH_CHECK(offset <= s.bytes() && bytes <= s.bytes() - offset,
                "{}: bytes [{}, {}) are outside the storage of {} bytes", what, offset, offset + bytes, s.bytes());
}

bool is_index(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string device_list(const CudaProbe& probe) {
  std::vector<std::string> names;
  for (const CudaDeviceInfo& d : probe.devices) names.push_back(fmt::format("{}: {}", d.index, d.name));
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

CudaStorage::CudaStorage(DeviceBuffer buffer, size_t bytes, std::shared_ptr<std::atomic<size_t>> total)
    : buffer_(std::move(buffer)), bytes_(bytes), total_(std::move(total)) {
  *total_ += bytes_;
}

CudaStorage::~CudaStorage() { *total_ -= bytes_; }

const CudaStorage& cuda_storage(const Storage& storage, std::string_view what) {
  VKGRAPH_CHECK(std::string_view(storage.backend_name()) == "cuda", "cuda backend: {} is storage of backend {}", what,
                storage.backend_name());
  return static_cast<const CudaStorage&>(storage);
}

CudaBackend::CudaBackend(CudaDeviceInfo device) : device_(std::move(device)) { use_device(device_.index); }

DeviceRecord CudaBackend::device_record() const { return cuda_device_record(device_, probe_cuda()); }

bool CudaBackend::supports(OpKind op, DType type) const {
  (void)op;
  (void)type;
  return true;
}

std::string CudaBackend::device_name() const {
  return fmt::format("{} ({}, pci {})", device_.name, sm_name(device_), device_.pci_bus_id);
}

void CudaBackend::check_weights_fit(std::span<const WeightSize> weights) const {
  use_device(device_.index);
  size_t free_bytes = 0, total = 0;
  check(cudaMemGetInfo(&free_bytes, &total), "cudaMemGetInfo");
  size_t sum = 0;
  for (const WeightSize& w : weights) sum += w.bytes;
  VKGRAPH_CHECK(sum <= free_bytes, "the weights need {} bytes, over the {} bytes free of {} on CUDA device {} ({})",
                sum, free_bytes, total, device_.index, device_.name);
}

std::shared_ptr<Storage> CudaBackend::upload(std::span<const std::byte> data) {
  DeviceBuffer buffer(device_.index, data.size(), "a weight");
  if (!data.empty()) check(cudaMemcpy(buffer.data(), data.data(), data.size(), cudaMemcpyHostToDevice), "upload");
  return std::make_shared<CudaStorage>(std::move(buffer), data.size(), storage_bytes_);
}

std::shared_ptr<Storage> CudaBackend::allocate_state(size_t bytes) {
  DeviceBuffer buffer(device_.index, bytes, "state");
  check(cudaMemset(buffer.data(), 0, std::max<size_t>(bytes, 1)), "zeroing state");
  return std::make_shared<CudaStorage>(std::move(buffer), bytes, storage_bytes_);
}

void CudaBackend::read_storage(const Storage& storage, size_t offset, std::span<std::byte> out) {
  const CudaStorage& s = cuda_storage(storage, "read_storage");
  check_range(s, offset, out.size(), "read_storage");
  use_device(s.device());
  if (!out.empty())
    check(cudaMemcpy(out.data(), s.data() + offset, out.size(), cudaMemcpyDeviceToHost), "read_storage");
}

void CudaBackend::write_storage(Storage& storage, size_t offset, std::span<const std::byte> data) {
  const CudaStorage& s = cuda_storage(storage, "write_storage");
  check_range(s, offset, data.size(), "write_storage");
  use_device(s.device());
  if (!data.empty()) {
    check(cudaMemcpy(s.data() + offset, data.data(), data.size(), cudaMemcpyHostToDevice), "write_storage");
  }
}

std::unique_ptr<Executable> CudaBackend::prepare(const Plan& plan, const PrepareOptions& options) {
  return std::make_unique<CudaExecutable>(device_.index, plan, options);
}

std::unique_ptr<Backend> create_cuda_backend(const std::string& device) {
  const CudaProbe& probe = probe_cuda();
  VKGRAPH_CHECK(probe.available, "no CUDA device: {}", probe.reason);
  if (device.empty()) return std::make_unique<CudaBackend>(probe.devices.front());
  if (is_index(device) && device.size() < 6) {
    const size_t index = std::stoul(device);
    VKGRAPH_CHECK(index < probe.devices.size(), "no CUDA device with index {}: available devices are {}", index,
                  device_list(probe));
    return std::make_unique<CudaBackend>(probe.devices[index]);
  }
  for (const CudaDeviceInfo& d : probe.devices) {
    if (d.name.find(device) != std::string::npos || d.pci_bus_id == device) return std::make_unique<CudaBackend>(d);
  }
  fail("no CUDA device matches \"{}\": available devices are {}", device, device_list(probe));
}

}  // namespace vkgraph::cuda
