// A session's one-token steps read only the cache slots in use, rounded up to a power of two
// (Session::step_key): on a large ring, a short chat's decode steps read 256 slots, then 512 as
// it grows, then all. Whatever extent a step reads, its logits are those of the whole sequence
// evaluated as one prompt (all slots read, prefill kernels), on the CPU and on Vulkan.

#include <catch2/catch_test_macros.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "models/bundled/default_model.h"
#include "models/model.h"
#include "models/session.h"
#include "tests/closeness_checks.h"
#include "tests/ring_support.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

// Per-position bound between one-token steps and the prompt step: the same weights and f16
// cache, kernels that differ in the order of f32 accumulation only (decode mat-vec and split
// attention against prefill tiles), as the ring tests bound two backends' steps.
constexpr double step_nmse_bound = 1e-5;

void check_extents_against_prompt(const std::string& backend_name) {
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  // A ring of 700 positions: slots 700 + spare, so the extents 256 and 512 apply before it fills.
  const models::SessionOptions options = test::ring_options(700, 4);
  models::Session stepped(*model, *backend, options);
  REQUIRE(stepped.kv().n_slots > 512);
  constexpr int64_t n = 600;
  const std::vector<int32_t> ids = test::ring_token_ids(*model, size_t(n));

  std::vector<std::vector<float>> step_logits;
  for (int64_t t = 0; t < n; ++t) {
    // The next token takes slot t: 256 slots read up to slot 255, 512 up to 511, then all.
    const int64_t expected = t < 256 ? 256 : (t < 512 ? 512 : stepped.kv().n_slots);
    if (stepped.decode_slots() != expected) {
      FAIL(fmt::format("before token {}: the one-token step reads {} slots, expected {}", t, stepped.decode_slots(),
                       expected));
    }
    const int32_t one[] = {ids[size_t(t)]};
    step_logits.push_back(stepped.eval(one));
  }

  models::Session whole(*model, *backend, options);
  const std::vector<float> all = whole.eval(ids, true);
  const auto n_vocab = size_t(model->hparams().n_vocab);
  REQUIRE(all.size() == size_t(n) * n_vocab);
  double worst = 0;
  for (int64_t t = 0; t < n; ++t) {
    const std::vector<float> row(all.begin() + std::ptrdiff_t(size_t(t) * n_vocab),
                                 all.begin() + std::ptrdiff_t(size_t(t + 1) * n_vocab));
    const testing::Closeness close = testing::nmse_close(step_logits[size_t(t)], row, step_nmse_bound);
    if (!close)
      FAIL(fmt::format("{}: position {}: one-token step against the prompt: {}", backend_name, t, close.describe()));
    worst = std::max(worst, close.error);
  }
  WARN(fmt::format("{}: worst NMSE of {} one-token steps against the prompt's logits: {:.3g}", backend_name, n, worst));
}

}  // namespace

TEST_CASE("session: one-token steps read the slots in use, and match the whole prompt's logits (CPU)",
          "[session][model]") {
  check_extents_against_prompt("cpu");
}

TEST_CASE("session: one-token steps read the slots in use, and match the whole prompt's logits (Vulkan)",
          "[session][model][vulkan]") {
  test::ValidationGuard guard;
  check_extents_against_prompt("vulkan");
}
