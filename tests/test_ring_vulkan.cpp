// The KV cache ring on Vulkan against the CPU backend's ring (the reference), step by step, and
// its device memory held constant while it wraps over and over.

#include <catch2/catch_test_macros.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/memory.h"
#include "models/bundled/default_model.h"
#include "models/model.h"
#include "models/session.h"
#include "tests/closeness_checks.h"
#include "tests/ring_support.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

// Per-step bound between the two backends: both read the same weights into the same f16 cache
// and differ only in the order of f32 accumulation, which the architecture tests bound at 1e-6
// over whole sequences; one step's logits are a smaller sample, so allow 10x.
constexpr double step_nmse_bound = 1e-5;

}  // namespace

TEST_CASE("ring: 1000 tokens at -c 64 --sinks 4 on Vulkan match the CPU ring at every step in constant device memory",
          "[ring][model][vulkan]") {
  test::ValidationGuard guard;
  auto gpu_backend = create_backend("vulkan", "");
  auto cpu_backend = create_backend("cpu", "");
  auto& vulkan = dynamic_cast<vk::VulkanBackend&>(*gpu_backend);
  const std::string path = models::default_model_path();
  const auto gpu_model = models::Model::load(path, *gpu_backend);
  const auto cpu_model = models::Model::load(path, *cpu_backend);
  const models::SessionOptions options = test::ring_options(64, 4);
  models::Session gpu(*gpu_model, *gpu_backend, options);
  models::Session cpu(*cpu_model, *cpu_backend, options);

  const Tokenizer& tok = gpu_model->tokenizer();
  const std::vector<int32_t> prompt = tok.encode("Once upon a time", tok.add_bos(), true);
  std::vector<float> g = gpu.eval(prompt);
  std::vector<float> c = cpu.eval(prompt);
  gpu.warm_up();
  const vk::MemoryStats warm = vulkan.context()->memory().stats();
  const size_t warm_storage = gpu_backend->storage_bytes();
  const size_t warm_executables = gpu.executable_bytes();

  double worst = 0;
  int64_t worst_step = -1;
  int64_t same_argmax = 0;
  constexpr int64_t n_steps = 1000;
  for (int64_t step = 0; step < n_steps; ++step) {
    const testing::Closeness close = testing::nmse_close(g, c, step_nmse_bound);
    if (!close) FAIL(fmt::format("step {}: Vulkan against the CPU: {}", step, close.describe()));
    if (close.error > worst) {
      worst = close.error;
      worst_step = step;
    }
    const int32_t next = test::argmax(g);
    same_argmax += next == test::argmax(c) ? 1 : 0;
    const int32_t one[] = {next};  // both continue with the Vulkan session's token
    g = gpu.eval(one);
    c = cpu.eval(one);
    const vk::MemoryStats now = vulkan.context()->memory().stats();
    if (now.bytes_in_use != warm.bytes_in_use || now.bytes_reserved != warm.bytes_reserved) {
      FAIL(fmt::format("step {}: device memory in use {} (reserved {}), {} (reserved {}) after warm-up", step,
                       now.bytes_in_use, now.bytes_reserved, warm.bytes_in_use, warm.bytes_reserved));
    }
  }
  WARN(fmt::format("worst step NMSE {:.3g} at step {}; greedy choices agree at {} of {} steps", worst, worst_step,
                   same_argmax, n_steps));
  CHECK(gpu.n_past() == int64_t(prompt.size()) + n_steps);
  CHECK(gpu.n_cached() == 64);
  CHECK(gpu.evicted() == gpu.n_past() - 64);
  CHECK(gpu_backend->storage_bytes() == warm_storage);
  CHECK(gpu.executable_bytes() == warm_executables);
  CHECK(gpu.prepared_count() == 2);  // the prompt's shape and the decode step, nothing per step
}

TEST_CASE("ring: within capacity the ring gives the plain cache's tokens on Vulkan", "[ring][model][vulkan]") {
  test::ValidationGuard guard;
  test::check_ring_within_capacity_is_plain("vulkan");
}

TEST_CASE("ring: an overflowing prompt on Vulkan matches the CPU ring's chunks", "[ring][model][vulkan]") {
  test::ValidationGuard guard;
  auto gpu_backend = create_backend("vulkan", "");
  auto cpu_backend = create_backend("cpu", "");
  const std::string path = models::default_model_path();
  const auto gpu_model = models::Model::load(path, *gpu_backend);
  const auto cpu_model = models::Model::load(path, *cpu_backend);
  const models::SessionOptions options = test::ring_options(64, 4);
  models::Session gpu(*gpu_model, *gpu_backend, options);
  models::Session cpu(*cpu_model, *cpu_backend, options);
  // 300 tokens: 64 fill the cache, then chunks of 7 evict and write (multi-query attention with
  // rotated keys over a wrapped window).
  const std::vector<int32_t> ids = test::ring_token_ids(*gpu_model, 300);
  const std::vector<float> g = gpu.eval(ids, true);
  const std::vector<float> c = cpu.eval(ids, true);
  CHECK_CLOSE(testing::nmse_close(g, c, step_nmse_bound));
  CHECK(gpu.evicted() == 300 - 64);
}
