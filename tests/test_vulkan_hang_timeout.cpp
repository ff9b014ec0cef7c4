// A submission that outlives the hang timeout (VKGRAPH_GPU_TIMEOUT_MS) is reported as an Error
// while the device may still be running it. Everything the submission touches must then stay
// alive: a 8192-token prefill that took longer than the timeout used to crash inside lavapipe's
// worker threads (SIGSEGV in JIT code) because unwinding freed the arena, the KV cache and the
// command buffer under the running kernels; the validation layer reports the same as
// "destroyed while in use". Here a short timeout makes a 1024-token prefill time out.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/context.h"
#include "engine/core/error.h"
#include "models/model.h"
#include "models/session.h"
#include "models/synth/presets.h"
#include "models/synth/synth_model.h"
#include "tests/temp_dir.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

// Sets an environment variable for as long as it lives, then restores the previous value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) previous_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (previous_) {
      setenv(name_, previous_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> previous_;
};

}  // namespace

TEST_CASE("vulkan: a submission past the hang timeout fails cleanly and frees nothing it still uses",
          "[vulkan][timeout]") {
  test::ValidationGuard guard;
  testing::TempDir dir;
  const std::string path = dir.file("long_context.gguf");
  models::write_synthetic_model(models::find_preset("stories260k-16k"), models::SynthOptions{"f32"}, path);

  // Its own device: once a submission timed out, the device takes no more work, so the
  // process-wide test context must not be the one.
  std::unique_ptr<Backend> backend = create_backend("vulkan", "");
  auto* vulkan = dynamic_cast<vk::VulkanBackend*>(backend.get());
  REQUIRE(vulkan != nullptr);
  const vk::Context* context = vulkan->context().get();  // not kept alive: the backend owns it
  const VkDevice device = context->device();

  auto model = models::Model::load(path, *backend);
  models::SessionOptions options;
  options.n_ctx = 1024;
  options.n_batch = 0;  // the whole prompt in one submission
  auto session = std::make_unique<models::Session>(*model, *backend, options);
  std::vector<int32_t> tokens(1024);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t(1 + (i * 7919) % 500);

  {
    // 1 ms: a 1024-token prefill (5 layers, causal attention over 1024 keys) takes far longer.
    ScopedEnv timeout("VKGRAPH_GPU_TIMEOUT_MS", "1");
    CHECK_THROWS_WITH(session->eval(tokens),
                      ContainsSubstring("did not finish") && ContainsSubstring("VKGRAPH_GPU_TIMEOUT_MS"));
  }
  CHECK(context->hung());
  // The timed-out work may still be running: more work is refused instead of queued behind it
  // into a command buffer that is still pending.
  CHECK_THROWS_WITH(session->eval(std::span<const int32_t>(tokens).first(1)),
                    ContainsSubstring("timed out") && ContainsSubstring("takes no more work"));

  // Unwinding everything (session: KV cache and executables; model: weights; backend: the
  // context) while the prefill may still run must neither crash nor destroy objects in use.
  session.reset();
  model.reset();
  backend.reset();  // the context too (nothing else holds it)
  guard.check();
  // The abandoned device is still valid: let the prefill end before the process does.
  CHECK(vkDeviceWaitIdle(device) == VK_SUCCESS);
}
