// Sliding windows and the KV ring: a key at a distance of a window or more is masked whatever the
// cache layout. The ring renumbers positions as it evicts (models/session.h), which keeps window
// tokens at their true distances but brings the sinks closer; the session refuses a ring where a
// sink could come within a window, and what it accepts computes exactly what the plain cache does
// wherever every layer is local. tiny-gemma3-f16 has four layers, all local (Gemma 3's five
// local to one global), with a window of 16 (../shared/models/README.md).

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <fmt/format.h>

#include "engine/backend/registry.h"
#include "engine/testing/closeness.h"
#include "models/logits_dump.h"
#include "models/model.h"
#include "models/session.h"
#include "tests/shared_files.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

// The reference prompt's 37 tokens, one at a time, on a ring of 24 slots with 2 sinks: it fills
// at token 24 and evicts one token per token after it (13 evictions), so the last queries sit
// 13 positions below their true ones. The plain cache holds all 37. Both round the same f16
// keys, but the ring rotates them after the f16 store and at other positions (the ring's), so
// the two differ by rounding only: measured NMSE ~1e-9 between them within capacity (the first
// 24 tokens) and the same after the evictions. A sink seen through the window, or a window
// token masked, moves a step's logits by NMSE >= 1e-3 (one of at most 16 keys gained or lost).
// Bound 1e-6: three orders above rounding, three below a masking mistake.
constexpr double kRingVsPlain = 1e-6;

void check_ring_matches_plain(const std::string& backend_name) {
  const auto ref = models::read_logits_json(testing::shared_file("reference/logits/tiny-gemma3-f16.json"));
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(testing::shared_file("models/tiny-gemma3-f16.gguf"), *backend);
  REQUIRE(model->hparams().layers.size() == 4);
  for (const models::LayerHparams& layer : model->hparams().layers) {
    REQUIRE(layer.window == 16);
    CHECK(layer.rope.freq_base == 10000.0f);  // rope.freq_base_swa; the global base is 1e6
  }
  CHECK(model->hparams().rope.freq_base == 1000000.0f);
  CHECK(model->hparams().attn_softcap == 0.0f);
  CHECK(model->hparams().final_softcap == 0.0f);

  models::SessionOptions ring_opts;
  ring_opts.n_ctx = 24;
  ring_opts.sinks = 2;
  models::Session ring(*model, *backend, ring_opts);
  models::SessionOptions plain_opts;
  plain_opts.n_ctx = 64;
  models::Session plain(*model, *backend, plain_opts);
  for (size_t i = 0; i < ref.tokens.size(); ++i) {
    const int32_t one[] = {ref.tokens[i]};
    const std::vector<float> got = ring.eval(one);
    const std::vector<float> want = plain.eval(one);
    const testing::Closeness close = testing::nmse_close(got, want, kRingVsPlain);
    INFO(fmt::format("token {} on {}: ring (evicted {}) vs plain cache: {}", i, backend_name, ring.evicted(),
                     close.describe()));
    CHECK(close.close);
  }
  CHECK(ring.evicted() == int64_t(ref.tokens.size()) - 24);
}

}  // namespace

TEST_CASE("A KV ring that would bring its sinks into a sliding window is refused", "[model][window][ring]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(testing::shared_file("models/tiny-gemma2-f16.gguf"), *backend);
  // Gemma 2's layers as llama.cpp derives them: local (window 16) and global alternate from a
  // local first layer, both rotating with the file's base (no rope.freq_base_swa in the file);
  // scores scaled by 1/sqrt(head size 64) and capped at 50, logits at 30.
  const models::Hparams& hp = model->hparams();
  REQUIRE(hp.layers.size() == 4);
  for (size_t il = 0; il < 4; ++il) {
    CHECK(hp.layers[il].window == (il % 2 == 0 ? 16 : 0));
    CHECK(hp.layers[il].rope.freq_base == hp.rope.freq_base);
    CHECK(hp.layers[il].rope.mode == RopeMode::neox);
  }
  CHECK(hp.query_scale == 0.125f);
  CHECK(hp.attn_softcap == 50.0f);
  CHECK(hp.final_softcap == 30.0f);
  // 20 slots, 4 sinks: an overflow chunk of 2 puts a query at 18, 15 positions above the last
  // sink (3), inside the window of 16, although that sink is older than anything in the window.
  models::SessionOptions small;
  small.n_ctx = 20;
  small.sinks = 4;
  try {
    models::Session refused(*model, *backend, small);
    FAIL("the ring was accepted");
  } catch (const Error& e) {
    CHECK_THAT(std::string(e.what()),
               ContainsSubstring("sliding window of 16 positions") && ContainsSubstring("a context of 21 or more"));
  }
  // The context it names is enough; the plain cache never has the problem.
  small.n_ctx = 21;
  CHECK_NOTHROW(models::Session(*model, *backend, small));
  models::SessionOptions plain;
  plain.n_ctx = 20;
  CHECK_NOTHROW(models::Session(*model, *backend, plain));
}

TEST_CASE("After evictions, a ring over local layers computes what the plain cache does (CPU)",
          "[model][window][ring]") {
  check_ring_matches_plain("cpu");
}

TEST_CASE("After evictions, a ring over local layers computes what the plain cache does (Vulkan)",
          "[model][window][ring][vulkan]") {
  test::ValidationGuard guard;
  check_ring_matches_plain("vulkan");
}
