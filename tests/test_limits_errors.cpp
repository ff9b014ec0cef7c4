// Vulkan failures surface as errors naming the call that failed, and the library never aborts:
// out of device memory (injected, and from a heap made small with VKGRAPH_LIMIT_HEAP) and a
// lost device during generation (injected at vkQueueSubmit and vkWaitForFences), through the
// engine, the C API and the CLI.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/memory.h"
#include "engine/backend/vulkan/vk_check.h"
#include "engine/core/error.h"
#include "include/vkgraph.h"
#include "tests/run_command.h"
#include "tests/vulkan_test_support.h"

using Catch::Matchers::ContainsSubstring;

namespace {

using namespace vkgraph;

// Injects a failure for the scope.
class ScopedInjection {
 public:
  ScopedInjection(const char* call, VkResult result) { vk::inject_vk_failure(call, result); }
  ~ScopedInjection() { vk::clear_vk_failure(); }
  ScopedInjection(const ScopedInjection&) = delete;
  ScopedInjection& operator=(const ScopedInjection&) = delete;
};

struct Generator {
  vkgraph_model* model = nullptr;
  vkgraph_context* ctx = nullptr;
  vkgraph_sampler* sampler = nullptr;
  std::vector<vkgraph_token> prompt;

  Generator() {
    vkgraph_model_params mp = vkgraph_model_default_params();
    mp.backend = "vulkan";
    vkgraph_status s = vkgraph_model_load(nullptr, &mp, &model);
    INFO(vkgraph_last_error());
    REQUIRE(s == VKGRAPH_OK);
    vkgraph_context_params cp = vkgraph_context_default_params();
    cp.n_ctx = 128;
    REQUIRE(vkgraph_context_create(model, &cp, &ctx) == VKGRAPH_OK);
    vkgraph_sampler_params sp = vkgraph_sampler_default_params();
    sp.temperature = 0;
    REQUIRE(vkgraph_sampler_create(&sp, &sampler) == VKGRAPH_OK);
    const std::string text = "Once upon a time";
    prompt.resize(64);
    size_t n = 0;
    REQUIRE(vkgraph_tokenize(model, text.data(), text.size(), 1, 1, prompt.data(), prompt.size(), &n) == VKGRAPH_OK);
    prompt.resize(n);
  }
  ~Generator() {
    vkgraph_sampler_free(sampler);
    vkgraph_context_free(ctx);
    vkgraph_model_free(model);
  }
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // The status of a greedy generation of `n` tokens; `text` gets what came out.
  vkgraph_status generate(int n, std::string& text) {
    REQUIRE(vkgraph_context_reset(ctx) == VKGRAPH_OK);
    vkgraph_generate_params gp = vkgraph_generate_default_params();
    gp.max_tokens = n;
    text.clear();
    const auto collect = [](vkgraph_token, const char* piece, size_t len, void* user) -> int {
      static_cast<std::string*>(user)->append(piece, len);
      return 0;
    };
    vkgraph_stop_reason stop{};
    return vkgraph_generate(ctx, sampler, prompt.data(), prompt.size(), &gp, collect, &text, &stop);
  }
};

}  // namespace

TEST_CASE("vulkan errors: out of device memory is an error naming vkAllocateMemory", "[limits][vulkan]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  vk::MemoryAllocator& mem = ctx->memory();
  std::vector<vk::Buffer> held;
  std::string message;
  {
    ScopedInjection oom("vkAllocateMemory", VK_ERROR_OUT_OF_DEVICE_MEMORY);
    // Whole blocks: once the free blocks the context holds are used up, a new one is needed.
    for (int i = 0; i < 64 && message.empty(); ++i) {
      const uint64_t reserved = mem.stats().bytes_reserved;
      try {
        held.push_back(mem.allocate(mem.block_size(), "kv cache"));
      } catch (const Error& e) {
        message = e.what();
        CHECK(mem.stats().bytes_reserved == reserved);  // nothing left behind
      }
    }
  }
  INFO(message);
  CHECK_THAT(message, ContainsSubstring("vkAllocateMemory") && ContainsSubstring("VK_ERROR_OUT_OF_DEVICE_MEMORY") &&
                          ContainsSubstring("kv cache"));
  held.clear();
  // The allocator is intact afterwards.
  vk::Buffer b = mem.allocate(4096, "after");
  CHECK(b.size() == 4096);
}

TEST_CASE("vulkan errors: a full heap fails allocation with an error and the allocator recovers", "[limits][vulkan]") {
  ::setenv("VKGRAPH_LIMIT_HEAP", "4M", 1);
  std::shared_ptr<vk::Context> context;
  try {
    auto backend = create_backend("vulkan");
    context = dynamic_cast<vk::VulkanBackend&>(*backend).context();
  } catch (...) {
    ::unsetenv("VKGRAPH_LIMIT_HEAP");
    throw;
  }
  ::unsetenv("VKGRAPH_LIMIT_HEAP");
  test::ValidationGuard guard;
  vk::MemoryAllocator& mem = context->memory();
  REQUIRE(mem.heap_bytes() == 4u << 20);
  const uint64_t in_use_before = mem.stats().bytes_in_use;
  std::vector<vk::Buffer> held;
  std::string message;
  try {
    for (int i = 0; i < 16; ++i) held.push_back(mem.allocate(1u << 20, "layer " + std::to_string(i)));
  } catch (const Error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(held.size() >= 2);
  CHECK(held.size() < 16);
  CHECK_THAT(message, ContainsSubstring("vkAllocateMemory") && ContainsSubstring("VK_ERROR_OUT_OF_DEVICE_MEMORY") &&
                          ContainsSubstring("layer " + std::to_string(held.size())));
  held.clear();
  CHECK(mem.stats().bytes_in_use == in_use_before);
  vk::Buffer again = mem.allocate(1u << 20, "again");
  CHECK(again);
}

TEST_CASE("vulkan errors: a device lost while generating is a C API error naming the call", "[limits][vulkan]") {
  test::ValidationGuard guard;
  Generator g;
  std::string reference;
  {
    const vkgraph_status s = g.generate(8, reference);
    INFO(vkgraph_last_error());
    REQUIRE(s == VKGRAPH_OK);
    REQUIRE(!reference.empty());
  }
  for (const char* call : {"vkQueueSubmit", "vkWaitForFences"}) {
    INFO(call);
    std::string text;
    vkgraph_status s = VKGRAPH_OK;
    {
      ScopedInjection lost(call, VK_ERROR_DEVICE_LOST);
      s = g.generate(8, text);
    }
    CHECK(s != VKGRAPH_OK);
    const std::string message = vkgraph_last_error();
    INFO(message);
    CHECK_THAT(message, ContainsSubstring(call) && ContainsSubstring("VK_ERROR_DEVICE_LOST"));
    // Nothing was left half-done: the same context generates the reference text again.
    std::string after;
    s = g.generate(8, after);
    INFO(vkgraph_last_error());
    CHECK(s == VKGRAPH_OK);
    CHECK(after == reference);
  }
}

TEST_CASE("vulkan errors: the CLI reports an injected device loss and exits with an error", "[limits][vulkan][cli]") {
  const std::string env = "VKGRAPH_INJECT_VK_FAILURE=vkQueueSubmit=VK_ERROR_DEVICE_LOST";
  ::setenv("VKGRAPH_INJECT_VK_FAILURE", "vkQueueSubmit=VK_ERROR_DEVICE_LOST", 1);
  const auto lost = testing::run_vkgraph("run --backend vulkan -p 'Once upon a time' -n 4 --temp 0");
  ::unsetenv("VKGRAPH_INJECT_VK_FAILURE");
  INFO(env << "\nstdout: " << lost.out << "\nstderr: " << lost.err);
  CHECK(lost.exit_code > 0);  // an exit code, not a signal (run_vkgraph gives -1 for those)
  CHECK_THAT(lost.err, ContainsSubstring("vkQueueSubmit") && ContainsSubstring("VK_ERROR_DEVICE_LOST"));

  ::setenv("VKGRAPH_INJECT_VK_FAILURE", "vkQueueSubmit=NOT_A_RESULT", 1);
  const auto bad = testing::run_vkgraph("run --backend vulkan -p 'Once upon a time' -n 4 --temp 0");
  ::unsetenv("VKGRAPH_INJECT_VK_FAILURE");
  INFO("stderr: " << bad.err);
  CHECK(bad.exit_code > 0);
  CHECK_THAT(bad.err, ContainsSubstring("NOT_A_RESULT"));
}
