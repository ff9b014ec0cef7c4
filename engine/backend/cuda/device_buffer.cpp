#include "engine/backend/cuda/device_buffer.h"

#include <algorithm>
#include <utility>

#include "engine/backend/cuda/cuda_check.h"
#include "engine/core/error.h"

namespace vkgraph::cuda {

void use_device(int device) { check(cudaSetDevice(device), fmt::format("cudaSetDevice({})", device)); }

DeviceBuffer::DeviceBuffer(int device, size_t bytes, const std::string& what) : device_(device), bytes_(bytes) {
  use_device(device);
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, std::max<size_t>(bytes, 16));
  if (status != cudaSuccess) {
    size_t free_bytes = 0, total = 0;
    cudaMemGetInfo(&free_bytes, &total);
    fail("cuda: cannot allocate {} bytes for {} on device {} ({} of {} bytes free): {}", bytes, what, device,
         free_bytes, total, cudaGetErrorString(status));
  }
  data_ = static_cast<std::byte*>(p);
}

DeviceBuffer::~DeviceBuffer() { release(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : device_(other.device_), data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    device_ = other.device_;
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::release() {
  if (data_ == nullptr) return;
  // A destructor cannot throw: a failure here (a lost device) leaks the memory with the device.
  if (cudaSetDevice(device_) == cudaSuccess) cudaFree(data_);
  data_ = nullptr;
}

}  // namespace vkgraph::cuda
