// Tentative tokens in the session: a verification step's logits are those of one-token steps,
// bit for bit, and accepting a prefix of its tokens leaves the cache a run that never saw the
// rest would have (the next step's logits compared exactly), in the plain cache, in a ring with
// room and in a full ring, on the CPU reference and on Vulkan.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstring>
#include <span>
#include <vector>

#include "engine/backend/registry.h"
#include "models/bundled/default_model.h"
#include "models/model.h"
#include "models/session.h"
#include "tests/ring_support.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

models::SessionOptions options(int64_t n_ctx, int64_t sinks, int64_t spare) {
  models::SessionOptions o = test::ring_options(n_ctx, sinks);
  o.spare_slots = spare;
  return o;
}

// Each row of a verification step against the same tokens decoded one at a time, after
// `n_prefix` tokens in `n_ctx` slots; sinks 0: keys rotated before the store, 4: when read.
void check_rows_match_one_token_steps(const std::string& backend_name, int64_t n_ctx, size_t n_prefix, int64_t sinks) {
  test::ValidationGuard guard;
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  const std::vector<int32_t> ids = test::ring_token_ids(*model, n_prefix + 12);
  const auto n_vocab = size_t(model->hparams().n_vocab);
  const std::span<const int32_t> prefix(ids.data(), n_prefix);
  {
    models::Session batched(*model, *backend, options(n_ctx, sinks, 16));
    models::Session stepwise(*model, *backend, options(n_ctx, sinks, 16));
    batched.eval(prefix);
    stepwise.eval(prefix);
    // 9 tokens: row-kernel tiles of 8 and 1 tokens; then 3 more after accepting them all.
    for (const size_t m : {size_t(9), size_t(3)}) {
      const std::span<const int32_t> tokens(ids.data() + stepwise.n_past(), m);
      const std::vector<float> rows = batched.eval_tentative(tokens);
      REQUIRE(rows.size() == m * n_vocab);
      for (size_t i = 0; i < m; ++i) {
        const std::vector<float> one = stepwise.eval(tokens.subspan(i, 1));
        INFO(backend_name << ", sinks " << sinks << ", step of " << m << ", row " << i);
        CHECK(same_bits(std::span(rows).subspan(i * n_vocab, n_vocab), one));
      }
      batched.accept(int64_t(m));
    }
  }
}

// Runs `prefix`, then a tentative step of `tentative` tokens keeping `keep`, then `next`; returns
// the logits of `next`. `split` evaluates the tentative tokens one call at a time (as a draft
// model drafts) instead of in one step.
std::vector<float> after_rollback(const models::Model& model, Backend& backend, const models::SessionOptions& o,
                                  std::span<const int32_t> prefix, std::span<const int32_t> tentative, int64_t keep,
                                  int32_t next, bool split = false) {
  models::Session s(model, backend, o);
  s.eval(prefix);
  if (!tentative.empty()) {
    if (split) {
      for (size_t i = 0; i < tentative.size(); ++i) s.eval_tentative(tentative.subspan(i, 1));
    } else {
      s.eval_tentative(tentative);
    }
    CHECK(s.n_tentative() == int64_t(tentative.size()));
    s.accept(keep);
  }
  CHECK(s.n_tentative() == 0);
  CHECK(s.n_past() == int64_t(prefix.size()) + keep);
  const int32_t one[] = {next};
  return s.eval(one);
}

void check_rollback(const std::string& backend_name) {
  test::ValidationGuard guard;
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  const std::vector<int32_t> ids = test::ring_token_ids(*model, 120);
  const std::vector<int32_t> step{ids[100], ids[101], ids[102], ids[103]};  // x and three drafts
  const int32_t next = ids[110];
  const std::span<const int32_t> kept2(step.data(), 2);

  SECTION("plain cache: the kept tokens as one-token steps") {
    const models::SessionOptions o = options(128, 0, 0);
    const std::span<const int32_t> prefix(ids.data(), 60);
    const std::vector<float> rolled = after_rollback(*model, *backend, o, prefix, step, 2, next);
    models::Session fresh(*model, *backend, o);
    fresh.eval(prefix);
    fresh.eval(std::span(kept2).first(1));
    fresh.eval(std::span(kept2).last(1));
    const int32_t one[] = {next};
    CHECK(same_bits(rolled, fresh.eval(one)));
  }
  SECTION("ring with room: the kept tokens as one-token steps") {
    const models::SessionOptions o = options(128, 4, 8);
    const std::span<const int32_t> prefix(ids.data(), 60);
    const std::vector<float> rolled = after_rollback(*model, *backend, o, prefix, step, 2, next);
    models::Session fresh(*model, *backend, o);
    fresh.eval(prefix);
    fresh.eval(std::span(kept2).first(1));
    fresh.eval(std::span(kept2).last(1));
    const int32_t one[] = {next};
    CHECK(same_bits(rolled, fresh.eval(one)));
  }
  SECTION("full ring: the same as a step of only the kept tokens, nothing evicted by the rejected ones") {
    // 64 slots after 100 tokens: 36 evicted; the step's tokens go to the 8 spare slots.
    const models::SessionOptions o = options(64, 4, 8);
    const std::span<const int32_t> prefix(ids.data(), 100);
    const std::vector<float> rolled = after_rollback(*model, *backend, o, prefix, step, 2, next);
    CHECK(same_bits(rolled, after_rollback(*model, *backend, o, prefix, kept2, 2, next)));
    // Drafted one call at a time, as a draft model does: the same cache.
    CHECK(same_bits(rolled, after_rollback(*model, *backend, o, prefix, step, 2, next, true)));
    // Everything rejected: the token hidden from the step (the oldest of the window) is back.
    const std::vector<float> none = after_rollback(*model, *backend, o, prefix, step, 0, next);
    CHECK(same_bits(none, after_rollback(*model, *backend, o, prefix, {}, 0, next)));
    // The comparisons can fail: keeping every token of the step gives another cache.
    CHECK_FALSE(same_bits(rolled, after_rollback(*model, *backend, o, prefix, step, 4, next)));
  }
}

}  // namespace

TEST_CASE("speculative: verification rows equal one-token steps bit for bit on the CPU", "[speculative][model]") {
  check_rows_match_one_token_steps("cpu", 128, 40, 0);
  check_rows_match_one_token_steps("cpu", 128, 40, 4);
  check_rows_match_one_token_steps("cpu", 1024, 250, 4);
}

// On lavapipe, before Graph::decode_rows, every row differed from its one-token step: the
// batched matmul (8 rows x 4 tokens per invocation) and the tiled attention round differently
// from the decode kernels, and split-K decode attention chose its chunks from the token count.
// The second case is long enough for that: 1024 slots give one query row 2 or more chunks of at
// most 512 slots on any core count, and 600 visible keys span more than one of them. The third
// crosses the extents a session's steps read (Session::step_key): after 250 tokens the
// verification step of 9 reads 512 slots, its first one-token steps 256.
TEST_CASE("speculative: verification rows equal one-token steps bit for bit on Vulkan",
          "[speculative][model][vulkan]") {
  check_rows_match_one_token_steps("vulkan", 128, 40, 0);
  check_rows_match_one_token_steps("vulkan", 1024, 600, 4);
  check_rows_match_one_token_steps("vulkan", 1024, 250, 4);
}

TEST_CASE("speculative: rejected tokens roll back exactly on the CPU", "[speculative][model]") {
  check_rollback("cpu");
}

TEST_CASE("speculative: rejected tokens roll back exactly on Vulkan", "[speculative][model][vulkan]") {
  check_rollback("vulkan");
}

TEST_CASE("speculative: tentative tokens need room and block plain evaluation until accepted", "[speculative][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  const std::vector<int32_t> ids = test::ring_token_ids(*model, 40);
  models::Session ring(*model, *backend, options(16, 4, 3));
  ring.eval(std::span(ids).first(20));  // full: 4 evicted
  CHECK(ring.tentative_room() == 3);
  CHECK_THROWS_WITH(ring.eval_tentative(std::span(ids).subspan(20, 4)),
                    ContainsSubstring("4 tentative tokens do not fit"));
  ring.eval_tentative(std::span(ids).subspan(20, 2));
  CHECK(ring.tentative_room() == 1);
  CHECK_THROWS_WITH(ring.eval(std::span(ids).subspan(22, 1)), ContainsSubstring("accept() them before eval()"));
  CHECK_THROWS_WITH(ring.truncate(10), ContainsSubstring("accept() them first"));
  CHECK_THROWS_WITH(ring.accept(3), ContainsSubstring("cannot accept 3 of 2"));
  ring.accept(2);
  CHECK(ring.n_cached() == 16);
  CHECK(ring.evicted() == 6);
  CHECK(ring.tentative_room() == 3);

  models::Session plain(*model, *backend, options(16, 0, 0));
  plain.eval(std::span(ids).first(14));
  CHECK(plain.tentative_room() == 2);
  CHECK(plain.spare_slots() == 0);
}
