#include "tests/vulkan_test_support.h"

#include <catch2/catch_test_macros.hpp>

#include <exception>
#include <mutex>

namespace vkgraph::test {

std::shared_ptr<vk::Context> vulkan_context() {
  static std::mutex mutex;
  static std::shared_ptr<vk::Context> context;
  std::lock_guard lock(mutex);
  if (!context) {
    vk::DeviceRequest request;
    request.validation = true;  // every Vulkan test runs under the Khronos validation layer
    context = vk::Context::create(request);
  }
  return context;
}

ValidationGuard::ValidationGuard() : start_(vk::validation_error_count()) {}

ValidationGuard::~ValidationGuard() {
  // A failing assertion may be unwinding the stack; a second report then would only add noise.
  if (!checked_ && std::uncaught_exceptions() == 0) check();
}

uint64_t ValidationGuard::new_messages() const { return vk::validation_error_count() - start_; }

void ValidationGuard::check() {
  checked_ = true;
  const uint64_t count = new_messages();
  INFO("last validation message: " << vk::last_validation_message());
  CHECK(count == 0);
}

}  // namespace vkgraph::test
