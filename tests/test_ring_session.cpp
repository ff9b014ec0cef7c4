// The KV cache ring on the CPU backend (the reference): where tokens land, what is kept, what
// an overflowing batch computes, and that within capacity it is ordinary causal attention.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "models/bundled/default_model.h"
#include "models/model.h"
#include "models/session.h"
#include "tests/ring_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

// Layer 0's key row of a slot, as stored (f16 bytes).
std::vector<std::byte> key_row(Backend& backend, const models::Session& session, int64_t slot) {
  const models::KvStorage& kv = session.kv();
  const size_t row = kv.k[0]->bytes() / size_t(kv.n_slots);
  std::vector<std::byte> out(row);
  backend.read_storage(*kv.k[0], size_t(slot) * row, out);
  return out;
}

}  // namespace

TEST_CASE("ring: sinks stay and each new token overwrites the oldest window slot with its unrotated key",
          "[ring][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  constexpr int64_t n_ctx = 16, sinks = 4, window = n_ctx - sinks;
  models::Session ring(*model, *backend, test::ring_options(n_ctx, sinks));
  const std::vector<int32_t> ids = test::ring_token_ids(*model, 50);

  // Layer 0's key depends on the token alone. Unrotated, it is the same bytes wherever the token
  // sits; a fresh session writes it at position 0, where RoPE is the identity.
  const auto expected_key = [&](int32_t id) {
    models::Session fresh(*model, *backend, test::ring_options(n_ctx, sinks));
    const int32_t one[] = {id};
    fresh.eval(one);
    return key_row(*backend, fresh, 0);
  };

  std::vector<std::vector<std::byte>> sink_rows;
  for (int64_t t = 0; t < int64_t(ids.size()); ++t) {
    const int32_t one[] = {ids[size_t(t)]};
    ring.eval(one);
    CHECK(ring.n_past() == t + 1);
    CHECK(ring.n_cached() == std::min<int64_t>(t + 1, n_ctx));
    CHECK(ring.evicted() == std::max<int64_t>(0, t + 1 - n_ctx));
    if (t == sinks - 1) {
      for (int64_t s = 0; s < sinks; ++s) sink_rows.push_back(key_row(*backend, ring, s));
    }
    if (t >= n_ctx) {
      // Token t replaces the oldest window token: window slots are used round-robin.
      const int64_t slot = sinks + (t - sinks) % window;
      INFO("token " << t << " in slot " << slot);
      CHECK(key_row(*backend, ring, slot) == expected_key(ids[size_t(t)]));
    }
  }
  for (int64_t s = 0; s < sinks; ++s) CHECK(key_row(*backend, ring, s) == sink_rows[size_t(s)]);
}

TEST_CASE("ring: within capacity the ring gives the plain cache's tokens and logits on the CPU", "[ring][model]") {
  test::check_ring_within_capacity_is_plain("cpu");
}

TEST_CASE("ring: an overflowing batch of single-token chunks computes what one token at a time does", "[ring][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  // A window of 12 gives chunks of one token once the ring is full.
  const models::SessionOptions options = test::ring_options(16, 4);
  const std::vector<int32_t> ids = test::ring_token_ids(*model, 60);
  models::Session batch(*model, *backend, options);
  REQUIRE(batch.overflow_chunk() == 1);
  const std::vector<float> all = batch.eval(ids, true);
  const auto n_vocab = size_t(model->hparams().n_vocab);
  REQUIRE(all.size() == ids.size() * n_vocab);
  CHECK(batch.n_cached() == 16);
  CHECK(batch.evicted() == 60 - 16);

  models::Session stepwise(*model, *backend, options);
  std::vector<std::vector<float>> one_by_one, batched;
  for (size_t t = 0; t < ids.size(); ++t) {
    const int32_t one[] = {ids[t]};
    one_by_one.push_back(stepwise.eval(one));
    batched.emplace_back(all.begin() + std::ptrdiff_t(t * n_vocab), all.begin() + std::ptrdiff_t((t + 1) * n_vocab));
  }
  // The same arithmetic in a different grouping of rows: only the order of f32 sums may differ.
  CHECK_CLOSE(testing::nmse_close(batched, one_by_one, 1e-10));
}

TEST_CASE("ring: an overflowing batch in longer chunks keeps every count and the last logits", "[ring][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  const models::SessionOptions options = test::ring_options(64, 4);
  const std::vector<int32_t> ids = test::ring_token_ids(*model, 300);
  models::Session all_rows(*model, *backend, options);
  REQUIRE(all_rows.overflow_chunk() == 7);  // (64 - 4) / 8
  const std::vector<float> all = all_rows.eval(ids, true);
  models::Session last_row(*model, *backend, options);
  const std::vector<float> last = last_row.eval(ids);
  const auto n_vocab = size_t(model->hparams().n_vocab);
  REQUIRE(all.size() == ids.size() * n_vocab);
  REQUIRE(last.size() == n_vocab);
  // The same chunks either way: the last row is the same computation.
  CHECK(std::equal(last.begin(), last.end(), all.end() - std::ptrdiff_t(n_vocab)));
  for (const models::Session* s : {&all_rows, &last_row}) {
    CHECK(s->n_past() == 300);
    CHECK(s->n_cached() == 64);
    CHECK(s->evicted() == 300 - 64);
  }
  for (float x : all) REQUIRE(std::isfinite(x));
  // Memory stays that of the capacity: no prepared shape is larger than a chunk or the fill.
  CHECK(all_rows.prepared_count() <= 3);
}

TEST_CASE("ring: going back is allowed only to tokens the window still holds", "[ring][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  models::Session s(*model, *backend, test::ring_options(16, 4));
  const std::vector<int32_t> ids = test::ring_token_ids(*model, 20);
  s.eval(std::span(ids).first(10));
  CHECK(s.can_truncate(0));  // nothing evicted yet: any prefix
  s.eval(std::span(ids).subspan(10));
  REQUIRE(s.evicted() == 4);  // positions 4..7 are gone
  CHECK(s.can_truncate(20));
  CHECK(s.can_truncate(8));
  CHECK_FALSE(s.can_truncate(7));
  CHECK_FALSE(s.can_truncate(21));
  CHECK_THROWS_WITH(s.truncate(5), ContainsSubstring("evicted positions 4 to 7"));
  s.truncate(12);
  CHECK(s.n_past() == 12);
  CHECK(s.n_cached() == 8);
  // The next token goes to the slot the first dropped one had, and the ring fills up again.
  const int32_t more[] = {ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7], ids[8]};
  s.eval(more);
  CHECK(s.n_cached() == 16);
  CHECK(s.evicted() == 5);
  s.reset();
  CHECK(s.n_past() == 0);
  CHECK(s.evicted() == 0);
}

TEST_CASE("ring: sinks must leave a window and the plain cache still refuses overflow", "[ring][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  CHECK_THROWS_WITH(models::Session(*model, *backend, test::ring_options(16, 16)),
                    ContainsSubstring("attention sinks must be in [0, 15]"));
  models::Session plain(*model, *backend, test::ring_options(16, 0));
  CHECK_FALSE(plain.ring());
  const std::vector<int32_t> ids = test::ring_token_ids(*model, 17);
  CHECK_THROWS_WITH(plain.eval(ids), ContainsSubstring("do not fit the context"));
  CHECK(plain.n_past() == 0);
}
