// LoRA adapters through the C API: loaded once per model, set per context and switched between
// generations without touching the model's weights (the backend's storage, weights and KV caches,
// stays byte for byte the same size: nothing is uploaded), two contexts of one model applying
// different adapters at once, also from two threads, and the errors of bad arguments.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "include/vkgraph.h"
#include "models/api/handles.h"
#include "tests/shared_files.h"

using Catch::Matchers::ContainsSubstring;

namespace {

vkgraph_model* load_model(const std::string& path, const char* backend) {
  vkgraph_model_params mp = vkgraph_model_default_params();
  mp.backend = backend;
  vkgraph_model* model = nullptr;
  INFO(vkgraph_last_error());
  REQUIRE(vkgraph_model_load(path.c_str(), &mp, &model) == VKGRAPH_OK);
  return model;
}

vkgraph_adapter* load_adapter(vkgraph_model* model, const std::string& path) {
  vkgraph_adapter* adapter = nullptr;
  const vkgraph_status s = vkgraph_adapter_load(model, path.c_str(), &adapter);
  INFO(vkgraph_last_error());
  REQUIRE(s == VKGRAPH_OK);
  return adapter;
}

vkgraph_context* context_of(vkgraph_model* model) {
  vkgraph_context* ctx = nullptr;
  REQUIRE(vkgraph_context_create(model, nullptr, &ctx) == VKGRAPH_OK);
  return ctx;
}

// The greedy continuation of the stories prompt from a fresh start (reset), as token ids; no
// test assertion inside, so threads may call it. Empty when a call failed.
std::vector<vkgraph_token> try_greedy(vkgraph_context* ctx, vkgraph_sampler* sampler, int n) {
  if (vkgraph_context_reset(ctx) != VKGRAPH_OK) return {};
  const vkgraph_token prompt[] = {1, 403, 407, 261, 378};  // <s> Once upon a time
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = n;
  gp.ignore_eos = 1;
  std::vector<vkgraph_token> out;
  const auto collect = [](vkgraph_token token, const char*, size_t, void* user) {
    if (token >= 0) static_cast<std::vector<vkgraph_token>*>(user)->push_back(token);
    return 0;
  };
  if (vkgraph_generate(ctx, sampler, prompt, 5, &gp, collect, &out, nullptr) != VKGRAPH_OK) return {};
  return out;
}

std::vector<vkgraph_token> greedy(vkgraph_context* ctx, vkgraph_sampler* sampler, int n) {
  std::vector<vkgraph_token> out = try_greedy(ctx, sampler, n);
  INFO(vkgraph_last_error());
  REQUIRE(out.size() == size_t(n));
  return out;
}

vkgraph_sampler* greedy_sampler() {
  vkgraph_sampler_params sp = vkgraph_sampler_default_params();
  sp.temperature = 0;
  vkgraph_sampler* sampler = nullptr;
  REQUIRE(vkgraph_sampler_create(&sp, &sampler) == VKGRAPH_OK);
  return sampler;
}

void set(vkgraph_context* ctx, std::vector<vkgraph_adapter_scale> list) {
  const vkgraph_status s = vkgraph_context_set_adapters(ctx, list.data(), list.size());
  INFO(vkgraph_last_error());
  REQUIRE(s == VKGRAPH_OK);
}

void check_switching(const char* backend) {
  const std::string adapter_path = vkgraph::testing::shared_file("models/stories260K-lora.gguf");
  vkgraph_model* model = load_model(vkgraph::testing::shared_file("models/stories260K.gguf"), backend);
  vkgraph_adapter* lora = load_adapter(model, adapter_path);
  vkgraph_adapter* twin = load_adapter(model, adapter_path);
  vkgraph_sampler* sampler = greedy_sampler();
  vkgraph_context* a = context_of(model);
  vkgraph_context* b = context_of(model);
  constexpr int n = 24;

  // Every adapter and context exists now: from here on the backend's storage (weights, adapters,
  // KV caches) must not grow, whatever is switched.
  const size_t storage = model->backend->storage_bytes();
  const std::vector<vkgraph_token> base = greedy(a, sampler, n);
  set(a, {{lora, 1.0f}});
  const std::vector<vkgraph_token> adapted = greedy(a, sampler, n);
  CHECK(adapted != base);  // the adapter changes the story (llama.cpp's greedy tokens differ too)
  set(a, {{lora, 0.0f}});
  CHECK(greedy(a, sampler, n) == base);
  set(a, {{lora, 0.5f}, {twin, 0.5f}});  // two adapters: the halves add up to the whole
  CHECK(greedy(a, sampler, n) == adapted);
  set(a, {});
  CHECK(greedy(a, sampler, n) == base);

  // Two contexts of one model, different adapters, used in turns...
  set(a, {{lora, 1.0f}});
  set(b, {});
  CHECK(greedy(b, sampler, n) == base);
  CHECK(greedy(a, sampler, n) == adapted);
  // ... and at the same time from two threads (the model serializes their device work).
  std::vector<vkgraph_token> from_a, from_b;
  vkgraph_sampler* sampler_b = greedy_sampler();
  std::thread ta([&] { from_a = try_greedy(a, sampler, n); });
  std::thread tb([&] { from_b = try_greedy(b, sampler_b, n); });
  ta.join();
  tb.join();
  CHECK(from_a == adapted);
  CHECK(from_b == base);
  CHECK(model->backend->storage_bytes() == storage);

  // Freeing an adapter a context still applies: the context keeps it until it lets go.
  REQUIRE(vkgraph_adapter_free(lora) == VKGRAPH_OK);
  CHECK(greedy(a, sampler, n) == adapted);
  vkgraph_context_free(a);
  vkgraph_context_free(b);
  vkgraph_sampler_free(sampler);
  vkgraph_sampler_free(sampler_b);
  vkgraph_model_free(model);  // frees `twin`, still loaded
}

}  // namespace

TEST_CASE("C API: adapters switched between generations upload nothing", "[lora][capi]") { check_switching("cpu"); }

TEST_CASE("C API: adapters switched between generations on Vulkan", "[lora][capi][vulkan]") {
  check_switching("vulkan");
}

TEST_CASE("C API: adapter errors", "[lora][capi]") {
  vkgraph_model* model = load_model(vkgraph::testing::shared_file("models/stories260K.gguf"), "cpu");
  vkgraph_model* other = load_model(vkgraph::testing::shared_file("models/stories260K.gguf"), "cpu");
  vkgraph_adapter* adapter = nullptr;

  CHECK(vkgraph_adapter_load(model, "/nonexistent/lora.gguf", &adapter) == VKGRAPH_ERR_FILE);
  CHECK_THAT(vkgraph_last_error(), ContainsSubstring("/nonexistent/lora.gguf"));
  CHECK(vkgraph_adapter_load(model, vkgraph::testing::shared_file("models/stories260K.gguf").c_str(), &adapter) ==
        VKGRAPH_ERR_MODEL);
  CHECK_THAT(vkgraph_last_error(), ContainsSubstring("not a LoRA adapter"));
  CHECK(vkgraph_adapter_load(model, vkgraph::testing::shared_file("models/tiny-k-lora-f16.gguf").c_str(), &adapter) ==
        VKGRAPH_ERR_MODEL);
  CHECK_THAT(vkgraph_last_error(), ContainsSubstring("does not fit it"));
  CHECK(adapter == nullptr);
  CHECK(vkgraph_adapter_load(model, nullptr, &adapter) == VKGRAPH_ERR_INVALID_ARGUMENT);

  const std::string path = vkgraph::testing::shared_file("models/stories260K-lora.gguf");
  vkgraph_adapter* mine = load_adapter(model, path);
  vkgraph_adapter* foreign = load_adapter(other, path);
  vkgraph_context* ctx = context_of(model);
  vkgraph_adapter_scale list[2] = {{mine, 1.0f}, {foreign, 1.0f}};
  CHECK(vkgraph_context_set_adapters(ctx, list, 2) == VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK_THAT(vkgraph_last_error(), ContainsSubstring("another model"));
  list[1] = {mine, 1.0f};
  CHECK(vkgraph_context_set_adapters(ctx, list, 2) == VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK_THAT(vkgraph_last_error(), ContainsSubstring("listed twice"));
  list[0].scale = std::numeric_limits<float>::quiet_NaN();
  CHECK(vkgraph_context_set_adapters(ctx, list, 1) == VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK_THAT(vkgraph_last_error(), ContainsSubstring("not a finite number"));
  CHECK(vkgraph_context_set_adapters(ctx, nullptr, 1) == VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(vkgraph_context_set_adapters(ctx, nullptr, 0) == VKGRAPH_OK);

  REQUIRE(vkgraph_adapter_free(mine) == VKGRAPH_OK);
  CHECK(vkgraph_adapter_free(mine) == VKGRAPH_ERR_INVALID_HANDLE);
  list[0] = {mine, 1.0f};
  CHECK(vkgraph_context_set_adapters(ctx, list, 1) == VKGRAPH_ERR_INVALID_HANDLE);
  vkgraph_context_free(ctx);
  vkgraph_model_free(other);  // frees `foreign`
  CHECK(vkgraph_adapter_free(foreign) == VKGRAPH_ERR_INVALID_HANDLE);
  vkgraph_model_free(model);
}
