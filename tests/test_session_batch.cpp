// A prompt longer than SessionOptions::n_batch runs as several steps at consecutive positions
// (the same causal attention), so a long prefill never becomes one submission that outlives the
// hang timeout, and its activation arena stays O(n_batch).

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
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

// All logits of `ids` ([ids.size() * n_vocab]) with at most `n_batch` tokens per step.
std::vector<float> all_logits(const models::Model& model, Backend& backend, const std::vector<int32_t>& ids,
                              int64_t n_batch, size_t* prepared = nullptr) {
  models::SessionOptions options;
  options.n_ctx = 64;
  options.n_batch = n_batch;
  models::Session session(model, backend, options);
  std::vector<float> logits = session.eval(ids, true);
  CHECK(session.n_past() == int64_t(ids.size()));
  if (prepared) *prepared = session.prepared_count();
  return logits;
}

void check_batched_equals_whole(const std::string& backend_name) {
  test::ValidationGuard guard;
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  const std::vector<int32_t> ids = test::ring_token_ids(*model, 45);

  size_t whole_steps = 0, batched_steps = 0;
  const std::vector<float> whole = all_logits(*model, *backend, ids, 0, &whole_steps);
  const std::vector<float> batched = all_logits(*model, *backend, ids, 16, &batched_steps);
  CHECK(whole_steps == 1);    // one executable of 45 tokens
  CHECK(batched_steps == 2);  // 16, 16 (the same executable) and 13 tokens
  REQUIRE(whole.size() == size_t(45 * model->hparams().n_vocab));
  // Each row's arithmetic is the same whichever step it is in (measured: bit-identical on the
  // CPU and on lavapipe); only a kernel whose reduction order depends on the row count may move
  // the last bits of logits of magnitude ~10, so 1e-4 is a few ulps. A step that starts at the
  // wrong position or misses the earlier steps' keys moves later rows by whole logits.
  INFO(backend_name);
  CHECK_CLOSE(testing::elementwise_close(batched, whole, 1e-4));
}

}  // namespace

TEST_CASE("session: a prompt longer than n_batch runs in steps and gives the logits of one step on the CPU",
          "[session][model]") {
  check_batched_equals_whole("cpu");
}

TEST_CASE("session: a prompt longer than n_batch runs in steps and gives the logits of one step on Vulkan",
          "[session][model][vulkan]") {
  check_batched_equals_whole("vulkan");
}

TEST_CASE("session: n_batch must not be negative", "[session][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  models::SessionOptions options;
  options.n_ctx = 16;
  options.n_batch = -1;
  CHECK_THROWS(models::Session(*model, *backend, options));
}
