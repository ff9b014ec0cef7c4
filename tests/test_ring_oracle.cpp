// The KV cache ring after eviction against an oracle that shares none of its arithmetic.
//
// Every other ring test compares the ring with itself (batched against one token at a time,
// Vulkan against CPU, C API against Session), and the ring's slots, positions and kv_pos are
// computed on the host once for every backend, so a wrong position after eviction would pass
// them all. Here the model has one layer: a token's key and value then depend on the token
// alone (embedding, norm, projection; the ring rotates keys when attention reads them), so the
// ring's logits for a token equal those of a plain cache (no ring, nothing evicted, slot = position
// = index) fed exactly the tokens README.md says the ring holds at that moment, in the order it
// says: the S sinks at positions 0..S-1, then the window tokens in age order. The plain session
// is the oracle: its positions are 0, 1, 2, ... of a fresh prompt.

#include <catch2/catch_test_macros.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "models/bundled/default_model.h"
#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_writer.h"
#include "models/model.h"
#include "models/session.h"
#include "tests/closeness_checks.h"
#include "tests/ring_support.h"
#include "tests/temp_dir.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

// Ring against oracle. Both read the same weights into an f16 cache, but the ring rounds a key to
// f16 before rotating it and the plain cache after, and the ring decodes with the one-token
// kernels while the oracle runs a prompt: NMSE up to 1.6e-6 at a step (measured on CPU and
// Vulkan alike, within capacity as after eviction). Bugs put in by hand score, at their worst
// step of the decode after eviction: the query one position late 9e-2, keys rotated one
// position late 0.75, positions counted from the stream's start instead of inside the cache
// 1.4e-2, the window's oldest slot off by one 0.35, a chunk evicting one token too many
// 2.6e-3; each fails 23 to 64 of the 80 steps. The first two pass every other ring test.
constexpr double ring_vs_oracle_nmse = 1e-5;

// stories260K cut to its first layer (block_count 1, blk.1 to blk.4 dropped): a real trained
// layer, so the logits are spread like a model's and depend on every key they attend to.
std::string write_one_layer_model(const testing::TempDir& dir) {
  const gguf::GgufFile file = gguf::GgufFile::open(models::default_model_path());
  gguf::GgufWriter writer(file.alignment());
  for (const gguf::MetadataEntry& e : file.metadata()) writer.set(e.key, e.value);
  writer.set_u32("llama.block_count", 1);
  for (const gguf::TensorInfo& t : file.tensors()) {
    if (t.name.rfind("blk.", 0) == 0 && t.name.rfind("blk.0.", 0) != 0) continue;
    const auto data = file.data(t);
    writer.add_tensor(t.name, t.type, t.shape, std::vector<std::byte>(data.begin(), data.end()));
  }
  const std::string path = dir.file("stories260K-one-layer.gguf");
  writer.write(path);
  return path;
}

// What the ring holds, by README.md: the first `sinks` tokens of the stream, then the window
// tokens from index `oldest` to `newest` (inclusive) in age order; before any eviction
// (oldest <= sinks) simply every token up to `newest`.
std::vector<int32_t> held_tokens(const std::vector<int32_t>& stream, int64_t sinks, int64_t oldest, int64_t newest) {
  if (oldest <= sinks) return std::vector<int32_t>(stream.begin(), stream.begin() + newest + 1);
  std::vector<int32_t> held(stream.begin(), stream.begin() + sinks);
  held.insert(held.end(), stream.begin() + oldest, stream.begin() + newest + 1);
  return held;
}

// The oracle: a plain cache evaluates `held` as a fresh prompt; the logits of its last token.
std::vector<float> oracle_logits(models::Session& plain, const std::vector<int32_t>& held) {
  plain.reset();
  return plain.eval(held);
}

// Decode: tokens one at a time through a 16-slot ring with 4 sinks (a window of 12), wrapping
// five times. After token t the ring holds the sinks and tokens max(S, t - W + 1)..t.
void check_decode_against_oracle(const std::string& backend_name, const std::string& model_path) {
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(model_path, *backend);
  REQUIRE(model->hparams().n_layer == 1);
  constexpr int64_t n_ctx = 16, sinks = 4, window = n_ctx - sinks;
  models::Session ring(*model, *backend, test::ring_options(n_ctx, sinks));
  models::Session plain(*model, *backend, test::ring_options(n_ctx, 0));
  const std::vector<int32_t> stream = test::ring_token_ids(*model, 80);
  double worst = 0.0;
  for (int64_t t = 0; t < int64_t(stream.size()); ++t) {
    const int32_t one[] = {stream[size_t(t)]};
    const std::vector<float> logits = ring.eval(one);
    const int64_t oldest = std::max<int64_t>(0, t - window + 1);
    const testing::Closeness close =
        testing::nmse_close(logits, oracle_logits(plain, held_tokens(stream, sinks, oldest, t)), ring_vs_oracle_nmse);
    if (!close) {
      FAIL(fmt::format("{}: token {} (evicted {}): the ring against sinks + tokens {}..{}: {}", backend_name, t,
                       ring.evicted(), oldest, t, close.describe()));
    }
    worst = std::max(worst, close.error);  // finite here: close passed
  }
  CHECK(ring.evicted() == int64_t(stream.size()) - n_ctx);
  WARN(fmt::format("{}: decode after eviction, worst NMSE against the oracle {:.3g}", backend_name, worst));
}

// An overflowing prompt: README.md's chunks. The first n_ctx tokens fill the cache; then chunks
// of c = (N - S) / 8 tokens each evict as many old tokens as they write, so query i of a chunk
// of m tokens starting at index c0 sees the sinks and tokens c0 - W + m .. c0 + i.
void check_overflowing_prompt_against_oracle(const std::string& backend_name, const std::string& model_path) {
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(model_path, *backend);
  constexpr int64_t n_ctx = 64, sinks = 4, window = n_ctx - sinks, chunk = window / 8, n = 150;
  models::Session ring(*model, *backend, test::ring_options(n_ctx, sinks));
  models::Session plain(*model, *backend, test::ring_options(n_ctx, 0));
  REQUIRE(ring.overflow_chunk() == chunk);
  const std::vector<int32_t> stream = test::ring_token_ids(*model, size_t(n));
  const std::vector<float> all = ring.eval(stream, true);
  const auto n_vocab = size_t(model->hparams().n_vocab);
  REQUIRE(all.size() == size_t(n) * n_vocab);
  double worst = 0.0;
  for (int64_t a = 0; a < n; ++a) {
    int64_t oldest = 0;  // within the fill: everything so far
    if (a >= n_ctx) {
      const int64_t c0 = n_ctx + (a - n_ctx) / chunk * chunk;
      const int64_t m = std::min(chunk, n - c0);
      oldest = c0 - window + m;
    }
    const std::vector<int32_t> held = held_tokens(stream, sinks, oldest, a);
    const std::span<const float> row(all.data() + size_t(a) * n_vocab, n_vocab);
    const testing::Closeness close = testing::nmse_close(row, oracle_logits(plain, held), ring_vs_oracle_nmse);
    if (!close) {
      FAIL(fmt::format("{}: prompt token {}: the ring against {} held tokens (window from {}): {}", backend_name, a,
                       held.size(), oldest, close.describe()));
    }
    worst = std::max(worst, close.error);  // finite here: close passed
  }
  CHECK(ring.evicted() == n - n_ctx);
  WARN(fmt::format("{}: overflowing prompt, worst NMSE against the oracle {:.3g}", backend_name, worst));
}

}  // namespace

TEST_CASE("ring oracle: one-layer decode after eviction equals a plain cache fed the sinks and the window",
          "[ring][oracle][model]") {
  testing::TempDir dir;
  check_decode_against_oracle("cpu", write_one_layer_model(dir));
}

TEST_CASE("ring oracle: each row of an overflowing one-layer prompt equals a plain cache fed what it sees",
          "[ring][oracle][model]") {
  testing::TempDir dir;
  check_overflowing_prompt_against_oracle("cpu", write_one_layer_model(dir));
}

TEST_CASE("ring oracle: one-layer decode after eviction on Vulkan", "[ring][oracle][model][vulkan]") {
  test::ValidationGuard guard;
  testing::TempDir dir;
  check_decode_against_oracle("vulkan", write_one_layer_model(dir));
}

TEST_CASE("ring oracle: an overflowing one-layer prompt on Vulkan", "[ring][oracle][model][vulkan]") {
  test::ValidationGuard guard;
  testing::TempDir dir;
  check_overflowing_prompt_against_oracle("vulkan", write_one_layer_model(dir));
}
