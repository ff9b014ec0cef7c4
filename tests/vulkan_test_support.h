#pragma once
// Shared by the Vulkan tests: one Context per process (validation on), and a guard that fails
// the test when the Khronos validation layer reported anything while it was alive.
//
//   TEST_CASE("...") {
//     auto ctx = vkgraph::test::vulkan_context();
//     vkgraph::test::ValidationGuard guard;
//     ... use ctx ...
//   }   // guard's destructor checks no validation message was emitted

#include <cstdint>
#include <memory>

#include "engine/backend/vulkan/context.h"

namespace vkgraph::test {

// The process-wide test Context (created on first use, validation always on). Device choice
// follows VKGRAPH_DEVICE like the CLI does.
std::shared_ptr<vk::Context> vulkan_context();

// Records the validation message count when created; check() (also run by the destructor)
// fails the current test with the last message when the count grew.
class ValidationGuard {
 public:
  ValidationGuard();
  ~ValidationGuard();
  ValidationGuard(const ValidationGuard&) = delete;
  ValidationGuard& operator=(const ValidationGuard&) = delete;
  void check();
  uint64_t new_messages() const;

 private:
  uint64_t start_;
  bool checked_ = false;
};

}  // namespace vkgraph::test
