// Embeddings (models/embedding.h, vkgraph_embed): pooled final hidden states against
// llama.cpp's llama-embedding on stories260K (tests/data/embeddings/, written by
// scripts/reference-embeddings.sh), and the pooling arithmetic by hand.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "include/vkgraph.h"
#include "models/bundled/default_model.h"
#include "models/embedding.h"
#include "models/model.h"
#include "models/tokenizer/tokenizer.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

nlohmann::json reference() {
  const std::string path = std::string(VKGRAPH_SOURCE_DIR) + "/tests/data/embeddings/stories260K.json";
  std::ifstream f(path);
  if (!f) FAIL("missing " << path << " (scripts/reference-embeddings.sh writes it)");
  return nlohmann::json::parse(f);
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = std::fabs(double(a[i]) - double(b[i]));
    d = std::isnan(x) ? INFINITY : std::max(d, x);  // a NaN fails
  }
  return d;
}

void check_against_llama_cpp(const std::string& backend_name) {
  test::ValidationGuard guard;
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  const Tokenizer& tok = model->tokenizer();
  const nlohmann::json ref = reference();
  models::Embedder embedder(*model, *backend, 128);
  for (const auto& [name, pooling] :
       {std::pair{"mean", models::Pooling::mean}, {"cls", models::Pooling::cls}, {"last", models::Pooling::last}}) {
    for (size_t i = 0; i < ref["texts"].size(); ++i) {
      const std::vector<int32_t> ids = tok.encode(ref["texts"][i].get<std::string>(), tok.add_bos(), true);
      const std::vector<float> ours = embedder.embed(ids, pooling);
      const std::vector<float> theirs = ref[name][i].get<std::vector<float>>();
      REQUIRE(ours.size() == theirs.size());
      const double cos = cosine(ours, theirs), diff = max_abs_difference(ours, theirs);
      INFO(backend_name << " " << name << " text " << i << ": cosine " << cos << ", largest difference " << diff);
      // Both sides store K/V in f16 and sum in their own order; on unit vectors of 64 values
      // that moves components by about 1e-4 (measured: at most 2.3e-4, cosine 1 to 6 digits).
      // A real fault scores far worse: another pooling than llama.cpp's gives cosines of 0.47 to
      // 0.73 and differences of 0.45 to 0.72 on these texts; another text, cosine 0.77.
      CHECK(cos >= 0.99999);
      CHECK(diff <= 2e-3);
    }
  }
}

}  // namespace

TEST_CASE("embedding: pooled hidden states match llama.cpp's llama-embedding (cpu)", "[embedding][model]") {
  check_against_llama_cpp("cpu");
}

TEST_CASE("embedding: pooled hidden states match llama.cpp's llama-embedding (vulkan)", "[embedding][model][vulkan]") {
  check_against_llama_cpp("vulkan");
}

TEST_CASE("embedding: a text longer than n_batch runs in steps with the same result", "[embedding][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  const Tokenizer& tok = model->tokenizer();
  const std::vector<int32_t> ids =
      tok.encode("Tom and Sue went to the park to play with a big red ball.", tok.add_bos(), true);
  REQUIRE(ids.size() > 8);
  models::Embedder whole(*model, *backend, 64, 512), steps(*model, *backend, 64, 4);
  for (models::Pooling p : {models::Pooling::mean, models::Pooling::last, models::Pooling::none}) {
    const std::vector<float> a = whole.embed(ids, p), b = steps.embed(ids, p);
    REQUIRE(a.size() == b.size());
    // The same rows through the same arithmetic, in steps of 4 rows instead of one step.
    CHECK(max_abs_difference(a, b) <= 1e-5);
  }
  CHECK_THROWS_WITH(whole.embed(std::vector<int32_t>(65, 1), models::Pooling::mean),
                    "a text of 65 tokens exceeds the embedding context of 64");
  CHECK_THROWS_WITH(whole.embed(std::vector<int32_t>{}, models::Pooling::mean), "nothing to embed: no tokens");
}

TEST_CASE("embedding: pooling and normalization by hand", "[embedding]") {
  // Two tokens of three values.
  const std::vector<float> hidden = {3, 0, 4, 0, 6, 8};
  const auto mean = models::pool_hidden_states(hidden, 2, 3, models::Pooling::mean);  // (1.5, 3, 6) / 6.87
  const double n = std::sqrt(1.5 * 1.5 + 9 + 36);
  CHECK(max_abs_difference(mean, {float(1.5 / n), float(3 / n), float(6 / n)}) <= 1e-6);
  CHECK(max_abs_difference(models::pool_hidden_states(hidden, 2, 3, models::Pooling::cls), {0.6f, 0, 0.8f}) <= 1e-6);
  CHECK(max_abs_difference(models::pool_hidden_states(hidden, 2, 3, models::Pooling::last), {0, 0.6f, 0.8f}) <= 1e-6);
  CHECK(max_abs_difference(models::pool_hidden_states(hidden, 2, 3, models::Pooling::none),
                           {0.6f, 0, 0.8f, 0, 0.6f, 0.8f}) <= 1e-6);
  const std::vector<float> zero(3, 0.0f);
  CHECK(models::pool_hidden_states(zero, 1, 3, models::Pooling::mean) == zero);  // no division by zero
  CHECK_THROWS(models::pool_hidden_states(hidden, 2, 3, models::Pooling::rank));
}

TEST_CASE("embedding: vkgraph_embed in the C API", "[embedding][capi]") {
  vkgraph_model_params params = vkgraph_model_default_params();
  params.backend = "cpu";
  vkgraph_model* model = nullptr;
  REQUIRE(vkgraph_model_load(nullptr, &params, &model) == VKGRAPH_OK);
  int32_t n_embd = 0;
  REQUIRE(vkgraph_model_n_embd(model, &n_embd) == VKGRAPH_OK);
  CHECK(n_embd == 64);

  const nlohmann::json ref = reference();
  const std::string text = ref["texts"][1].get<std::string>();
  std::vector<vkgraph_token> ids(64);
  size_t n_ids = 0;
  REQUIRE(vkgraph_tokenize(model, text.data(), text.size(), 1, 1, ids.data(), ids.size(), &n_ids) == VKGRAPH_OK);
  ids.resize(n_ids);

  size_t n = 0;
  CHECK(vkgraph_embed(model, ids.data(), ids.size(), VKGRAPH_POOLING_MEAN, nullptr, 0, &n) ==
        VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(n == 64);
  std::vector<float> v(n);
  // The file names no pooling, so the default is mean.
  REQUIRE(vkgraph_embed(model, ids.data(), ids.size(), VKGRAPH_POOLING_DEFAULT, v.data(), v.size(), &n) == VKGRAPH_OK);
  CHECK(cosine(v, ref["mean"][1].get<std::vector<float>>()) >= 0.99999);  // the bound of the tests above
  REQUIRE(vkgraph_embed(model, ids.data(), ids.size(), VKGRAPH_POOLING_NONE, nullptr, 0, &n) ==
          VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(n == ids.size() * 64);
  CHECK(vkgraph_embed(model, ids.data(), ids.size(), vkgraph_pooling(7), v.data(), v.size(), &n) ==
        VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(std::string(vkgraph_last_error()).find("pooling is 7") != std::string::npos);
  const vkgraph_token bad[] = {1, 9999};
  CHECK(vkgraph_embed(model, bad, 2, VKGRAPH_POOLING_MEAN, v.data(), v.size(), &n) == VKGRAPH_ERR_INVALID_ARGUMENT);
  // A text longer than the model's context (stories260K: 512) grows the embedder's cache.
  std::vector<vkgraph_token> long_text(600, ids[1]);
  long_text[0] = ids[0];
  CHECK(vkgraph_embed(model, long_text.data(), long_text.size(), VKGRAPH_POOLING_LAST, v.data(), v.size(), &n) ==
        VKGRAPH_OK);
  vkgraph_model_free(model);
}
