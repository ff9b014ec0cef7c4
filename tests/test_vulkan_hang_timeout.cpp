// A submission that outlives the hang timeout (VKGRAPH_GPU_TIMEOUT_MS) is reported as an Error
// while the device may still be running it. Everything the submission touches must then stay
// alive: a 8192-token prefill that took longer than the timeout used to crash inside lavapipe's
// worker threads (SIGSEGV in JIT code) because unwinding freed the arena, the KV cache and the
// command buffer under the running kernels; the validation layer reports the same as
// "destroyed while in use". Here the device's queue is held from the host (QueueBlocker) while a
// prefill is submitted behind it: the prefill surely outlives any timeout, whatever the device's
// speed or the machine's load, and it runs only after everything of vkgraph has been unwound,
// so memory freed too early is used by its kernels for certain.

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
#include "models/bundled/default_model.h"
#include "models/model.h"
#include "models/session.h"
#include "tests/queue_blocker.h"
#include "tests/scoped_env.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

using vkgraph::test::ScopedEnv;

namespace {}  // namespace

TEST_CASE("vulkan: a submission past the hang timeout fails cleanly and frees nothing it still uses",
          "[vulkan][timeout]") {
  test::ValidationGuard guard;
  // Its own device: once a submission timed out, the device takes no more work, so the
  // process-wide test context must not be the one.
  std::unique_ptr<Backend> backend = create_backend("vulkan", "");
  auto* vulkan = dynamic_cast<vk::VulkanBackend*>(backend.get());
  REQUIRE(vulkan != nullptr);
  vk::Context& context = *vulkan->context();  // not kept alive: the backend owns it
  const VkDevice device = context.device();

  auto model = models::Model::load(models::default_model_path(), *backend);
  models::SessionOptions options;
  options.n_ctx = 512;
  options.n_batch = 0;  // the whole prompt in one submission
  auto session = std::make_unique<models::Session>(*model, *backend, options);
  std::vector<int32_t> tokens(256);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t(1 + (i * 7919) % 500);
  // Once normally: the prefill's executable is prepared (pipelines, arena, uploads) before the
  // queue is held, so what waits behind the blocker is the prefill's own submission. The decode
  // step too, for the refused call below: lavapipe compiles no pipeline while its queue is held.
  session->eval(tokens);
  session->reset();
  session->warm_up();

  auto blocker = std::make_unique<test::QueueBlocker>(context);
  {
    // Any timeout does: the queue is held until the blocker is released below.
    ScopedEnv timeout("VKGRAPH_GPU_TIMEOUT_MS", "100");
    CHECK_THROWS_WITH(session->eval(tokens),
                      ContainsSubstring("did not finish") && ContainsSubstring("VKGRAPH_GPU_TIMEOUT_MS"));
  }
  CHECK(context.hung());
  // The timed-out work may still be running: more work is refused instead of queued behind it
  // into a command buffer that is still pending.
  CHECK_THROWS_WITH(session->eval(std::span<const int32_t>(tokens).first(1)),
                    ContainsSubstring("timed out") && ContainsSubstring("takes no more work"));

  // Unwinding everything (session: KV cache and executables; model: weights; backend: the
  // context) while the prefill is still pending must neither crash nor destroy objects in use.
  session.reset();
  model.reset();
  backend.reset();  // the context too (nothing else holds it)
  guard.check();
  // Now the prefill runs, on whatever the unwinding left: it must all still be there.
  blocker->release();
  CHECK(vkDeviceWaitIdle(device) == VK_SUCCESS);
  blocker.reset();
}
