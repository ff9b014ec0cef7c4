// The KV cache ring through the C API: vkgraph_context_params.sinks.

#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "include/vkgraph.h"
#include "models/bundled/default_model.h"
#include "models/model.h"
#include "tests/ring_support.h"

using namespace vkgraph;

namespace {

vkgraph_model* load_cpu_model() {
  vkgraph_model_params mp = vkgraph_model_default_params();
  mp.backend = "cpu";
  vkgraph_model* model = nullptr;
  const vkgraph_status s = vkgraph_model_load(nullptr, &mp, &model);
  INFO(vkgraph_last_error());
  REQUIRE(s == VKGRAPH_OK);
  return model;
}

vkgraph_sampler* greedy_sampler() {
  vkgraph_sampler_params sp = vkgraph_sampler_default_params();
  sp.temperature = 0;
  vkgraph_sampler* sampler = nullptr;
  REQUIRE(vkgraph_sampler_create(&sp, &sampler) == VKGRAPH_OK);
  return sampler;
}

int collect(vkgraph_token token, const char*, size_t, void* user) {
  if (token >= 0) static_cast<std::vector<vkgraph_token>*>(user)->push_back(token);
  return 0;
}

}  // namespace

TEST_CASE("capi: a context with sinks generates past n_ctx as the session's ring does", "[capi][ring]") {
  vkgraph_model* model = load_cpu_model();
  vkgraph_context_params cp = vkgraph_context_default_params();
  CHECK(cp.sinks == 4);  // the ring is the default
  cp.n_ctx = 32;
  vkgraph_context* ctx = nullptr;
  REQUIRE(vkgraph_context_create(model, &cp, &ctx) == VKGRAPH_OK);
  vkgraph_sampler* sampler = greedy_sampler();

  auto backend = create_backend("cpu", "");
  const auto reference_model = models::Model::load(models::default_model_path(), *backend);
  const Tokenizer& tok = reference_model->tokenizer();
  const std::vector<int32_t> prompt = tok.encode("Once upon a time", tok.add_bos(), true);

  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = 120;
  gp.ignore_eos = 1;
  std::vector<vkgraph_token> tokens;
  vkgraph_stop_reason stop{};
  REQUIRE(vkgraph_generate(ctx, sampler, prompt.data(), prompt.size(), &gp, collect, &tokens, &stop) == VKGRAPH_OK);
  CHECK(stop == VKGRAPH_STOP_MAX_TOKENS);
  REQUIRE(tokens.size() == 120);
  int32_t past = 0;
  REQUIRE(vkgraph_context_n_past(ctx, &past) == VKGRAPH_OK);
  CHECK(past == int32_t(prompt.size()) + 120);  // past the 32 slots

  // The same tokens as the library's ring with the same capacity and sinks (greedy, but with
  // end-of-text tokens masked as ignore_eos does).
  models::Session session(*reference_model, *backend, test::ring_options(32, 4));
  std::vector<float> logits = session.eval(prompt);
  std::vector<vkgraph_token> expected;
  for (size_t i = 0; i < tokens.size(); ++i) {
    for (size_t id = 0; id < logits.size(); ++id) {
      if (tok.is_eog(int32_t(id))) logits[id] = -1e30f;
    }
    expected.push_back(test::argmax(logits));
    const int32_t one[] = {expected.back()};
    logits = session.eval(one);
  }
  CHECK(tokens == expected);

  // A long eval into the ring fits too.
  const std::vector<int32_t> long_text = test::ring_token_ids(*reference_model, 100);
  CHECK(vkgraph_eval(ctx, long_text.data(), long_text.size(), nullptr) == VKGRAPH_OK);

  REQUIRE(vkgraph_sampler_free(sampler) == VKGRAPH_OK);
  REQUIRE(vkgraph_context_free(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}

TEST_CASE("capi: sinks 0 keeps the context a limit", "[capi][ring]") {
  vkgraph_model* model = load_cpu_model();
  vkgraph_context_params cp = vkgraph_context_default_params();
  cp.n_ctx = 32;
  cp.sinks = 0;
  vkgraph_context* ctx = nullptr;
  REQUIRE(vkgraph_context_create(model, &cp, &ctx) == VKGRAPH_OK);
  vkgraph_sampler* sampler = greedy_sampler();
  const vkgraph_token bos[] = {1};
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = 100;
  gp.ignore_eos = 1;
  std::vector<vkgraph_token> tokens;
  vkgraph_stop_reason stop{};
  REQUIRE(vkgraph_generate(ctx, sampler, bos, 1, &gp, collect, &tokens, &stop) == VKGRAPH_OK);
  CHECK(stop == VKGRAPH_STOP_CONTEXT_FULL);
  CHECK(tokens.size() == 32);  // 31 evaluated after the prompt, the 32nd drawn from the last logits
  REQUIRE(vkgraph_sampler_free(sampler) == VKGRAPH_OK);
  REQUIRE(vkgraph_context_free(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}
