#pragma once
// Device memory owned by one object: cudaMalloc on a given device, cudaFree when destroyed.

#include <cstddef>
#include <string>

namespace vkgraph::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // `what` names the buffer in an out-of-memory error. Zero bytes still allocate a few, so every
  // buffer has a valid address.
  DeviceBuffer(int device, size_t bytes, const std::string& what);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  std::byte* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  int device() const { return device_; }

 private:
  void release();
  int device_ = 0;
  std::byte* data_ = nullptr;
  size_t bytes_ = 0;
};

// Makes `device` current for the calling thread (every public entry point of the backend calls
// it: several backends on different devices may share a thread).
void use_device(int device);

}  // namespace vkgraph::cuda
