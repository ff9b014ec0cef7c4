// The C API (include/vkgraph.h) as an application sees it: status codes and messages for bad
// input, cancellation from another thread, contexts sharing a model, tokenizer round trips.

#include <catch2/catch_test_macros.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "include/vkgraph.h"

namespace {

// The bundled model on the CPU backend (fast to load); the Vulkan path is the install test's.
vkgraph_model* load_default(const char* backend = "cpu") {
  vkgraph_model_params mp = vkgraph_model_default_params();
  mp.backend = backend;
  vkgraph_model* model = nullptr;
  const vkgraph_status s = vkgraph_model_load(nullptr, &mp, &model);
  INFO(vkgraph_last_error());
  REQUIRE(s == VKGRAPH_OK);
  REQUIRE(model != nullptr);
  return model;
}

std::vector<vkgraph_token> tokenize(vkgraph_model* model, const std::string& text) {
  size_t n = 0;
  REQUIRE(vkgraph_tokenize(model, text.data(), text.size(), 1, 1, nullptr, 0, &n) == VKGRAPH_ERR_INVALID_ARGUMENT);
  std::vector<vkgraph_token> ids(n);
  REQUIRE(vkgraph_tokenize(model, text.data(), text.size(), 1, 1, ids.data(), ids.size(), &n) == VKGRAPH_OK);
  return ids;
}

struct Collected {
  std::string text;
  std::vector<vkgraph_token> tokens;
};

int collect(vkgraph_token token, const char* piece, size_t len, void* user_data) {
  auto* c = static_cast<Collected*>(user_data);
  c->text.append(piece, len);
  if (token >= 0) c->tokens.push_back(token);
  return 0;
}

vkgraph_sampler* greedy() {
  vkgraph_sampler_params sp = vkgraph_sampler_default_params();
  sp.temperature = 0;
  vkgraph_sampler* sampler = nullptr;
  REQUIRE(vkgraph_sampler_create(&sp, &sampler) == VKGRAPH_OK);
  return sampler;
}

struct Completion {
  vkgraph_status status = VKGRAPH_OK;
  std::string text;
  std::string error;  // the thread's last error where status is not OK
};

// A greedy completion of n tokens, without assertions: Catch2's assertion macros are not
// thread-safe (two threads asserting at once race on its message streams), so threaded callers
// check the result after joining.
Completion try_complete(vkgraph_context* ctx, vkgraph_sampler* sampler, const std::vector<vkgraph_token>& prompt,
                        int n) {
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = n;
  Collected c;
  vkgraph_stop_reason stop{};
  Completion r;
  r.status = vkgraph_generate(ctx, sampler, prompt.data(), prompt.size(), &gp, collect, &c, &stop);
  if (r.status != VKGRAPH_OK) r.error = vkgraph_last_error();
  r.text = std::move(c.text);
  return r;
}

std::string complete(vkgraph_context* ctx, vkgraph_sampler* sampler, const std::vector<vkgraph_token>& prompt, int n) {
  const Completion r = try_complete(ctx, sampler, prompt, n);
  INFO(r.error);
  REQUIRE(r.status == VKGRAPH_OK);
  return r.text;
}

}  // namespace

TEST_CASE("capi: version and status names", "[capi]") {
  CHECK(std::string(vkgraph_version()).rfind(VKGRAPH_VERSION_STRING, 0) == 0);
  CHECK(std::string(vkgraph_status_name(VKGRAPH_ERR_FILE)) == "VKGRAPH_ERR_FILE");
  CHECK(VKGRAPH_VERSION == VKGRAPH_VERSION_MAJOR * 10000 + VKGRAPH_VERSION_MINOR * 100 + VKGRAPH_VERSION_PATCH);
}

TEST_CASE("capi: a missing model file is VKGRAPH_ERR_FILE naming the path", "[capi]") {
  vkgraph_model* model = reinterpret_cast<vkgraph_model*>(0x1);
  const vkgraph_status s = vkgraph_model_load("/nonexistent/dir/model.gguf", nullptr, &model);
  CHECK(s == VKGRAPH_ERR_FILE);
  CHECK(model == nullptr);
  CHECK(std::string(vkgraph_last_error()).find("/nonexistent/dir/model.gguf") != std::string::npos);
  // A successful call clears the message.
  size_t count = 0;
  REQUIRE(vkgraph_list_devices(nullptr, 0, &count) == VKGRAPH_OK);
  CHECK(std::string(vkgraph_last_error()).empty());
}

TEST_CASE("capi: the message is per thread", "[capi]") {
  REQUIRE(vkgraph_model_load("/nonexistent.gguf", nullptr, nullptr) == VKGRAPH_ERR_INVALID_ARGUMENT);
  const std::string mine = vkgraph_last_error();
  CHECK(mine.find("out_model") != std::string::npos);
  std::string theirs = "unset";
  std::thread([&] { theirs = vkgraph_last_error(); }).join();
  CHECK(theirs.empty());
  CHECK(std::string(vkgraph_last_error()) == mine);
}

TEST_CASE("capi: NULL and foreign handles and bad arguments are errors, not crashes", "[capi]") {
  int32_t n = 0;
  CHECK(vkgraph_model_n_vocab(nullptr, &n) == VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(std::string(vkgraph_last_error()).find("model is NULL") != std::string::npos);
  CHECK(vkgraph_context_free(nullptr) == VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(vkgraph_sampler_free(nullptr) == VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(vkgraph_context_cancel(nullptr) == VKGRAPH_ERR_INVALID_ARGUMENT);
  size_t count = 0;
  CHECK(vkgraph_list_devices(nullptr, 3, &count) == VKGRAPH_ERR_INVALID_ARGUMENT);

  // Memory that is not a handle (as a freed one looks once its tag is cleared).
  alignas(16) unsigned char junk[512] = {};
  CHECK(vkgraph_model_free(reinterpret_cast<vkgraph_model*>(junk)) == VKGRAPH_ERR_INVALID_HANDLE);
  CHECK(vkgraph_context_cancel(reinterpret_cast<vkgraph_context*>(junk)) == VKGRAPH_ERR_INVALID_HANDLE);
  CHECK(std::string(vkgraph_last_error()).find("not a live handle") != std::string::npos);

  // A really freed handle: recognized by its address, its memory is never read.
  vkgraph_sampler_params freed_params = vkgraph_sampler_default_params();
  vkgraph_sampler* freed = nullptr;
  REQUIRE(vkgraph_sampler_create(&freed_params, &freed) == VKGRAPH_OK);
  REQUIRE(vkgraph_sampler_free(freed) == VKGRAPH_OK);
  CHECK(vkgraph_sampler_free(freed) == VKGRAPH_ERR_INVALID_HANDLE);

  vkgraph_model* model = load_default();
  CHECK(vkgraph_context_create(model, nullptr, nullptr) == VKGRAPH_ERR_INVALID_ARGUMENT);
  vkgraph_context* ctx = nullptr;
  vkgraph_context_params cp = vkgraph_context_default_params();
  cp.sinks = -1;
  CHECK(vkgraph_context_create(model, &cp, &ctx) == VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(std::string(vkgraph_last_error()).find("sinks") != std::string::npos);
  cp.n_ctx = 16;
  cp.sinks = 16;  // no window left
  CHECK(vkgraph_context_create(model, &cp, &ctx) == VKGRAPH_ERR_INVALID_ARGUMENT);
  cp = vkgraph_context_default_params();
  cp.n_ctx = -5;
  CHECK(vkgraph_context_create(model, &cp, &ctx) == VKGRAPH_ERR_INVALID_ARGUMENT);

  vkgraph_sampler_params sp = vkgraph_sampler_default_params();
  sp.top_p = 2;
  vkgraph_sampler* sampler = nullptr;
  CHECK(vkgraph_sampler_create(&sp, &sampler) == VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(std::string(vkgraph_last_error()).find("top_p") != std::string::npos);

  cp = vkgraph_context_default_params();
  cp.n_ctx = 16;
  cp.sinks = 0;  // no ring: the context is a limit
  REQUIRE(vkgraph_context_create(model, &cp, &ctx) == VKGRAPH_OK);
  const vkgraph_token bad[] = {1, 1 << 30};
  CHECK(vkgraph_eval(ctx, bad, 2, nullptr) == VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(std::string(vkgraph_last_error()).find("outside the vocabulary") != std::string::npos);
  const std::vector<vkgraph_token> many(17, 1);
  CHECK(vkgraph_eval(ctx, many.data(), many.size(), nullptr) == VKGRAPH_ERR_CONTEXT_FULL);
  int32_t past = -1;
  REQUIRE(vkgraph_context_n_past(ctx, &past) == VKGRAPH_OK);
  CHECK(past == 0);
  sampler = greedy();
  CHECK(vkgraph_generate(ctx, sampler, nullptr, 0, nullptr, collect, nullptr, nullptr) == VKGRAPH_ERR_INVALID_ARGUMENT);
  REQUIRE(vkgraph_sampler_free(sampler) == VKGRAPH_OK);
  REQUIRE(vkgraph_context_free(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}

TEST_CASE("capi: a context larger than the device holds is an error with a message", "[capi]") {
  vkgraph_model* model = load_default("vulkan");
  vkgraph_context_params cp = vkgraph_context_default_params();
  cp.n_ctx = 2000000000;
  vkgraph_context* ctx = nullptr;
  const vkgraph_status s = vkgraph_context_create(model, &cp, &ctx);
  CHECK(s != VKGRAPH_OK);
  CHECK(ctx == nullptr);
  INFO(vkgraph_last_error());
  CHECK(std::string(vkgraph_last_error()).find("2000000000") != std::string::npos);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}

TEST_CASE("capi: a load cancelled by its progress callback or flag", "[capi]") {
  vkgraph_model_params mp = vkgraph_model_default_params();
  mp.backend = "cpu";
  int calls = 0;
  mp.progress = [](uint64_t, uint64_t, void* user) { return ++*static_cast<int*>(user) >= 2 ? 1 : 0; };
  mp.progress_user_data = &calls;
  vkgraph_model* model = nullptr;
  CHECK(vkgraph_model_load(nullptr, &mp, &model) == VKGRAPH_ERR_CANCELLED);
  CHECK(calls == 2);
  CHECK(model == nullptr);
  const volatile int cancel = 1;
  mp = vkgraph_model_default_params();
  mp.backend = "cpu";
  mp.cancel = &cancel;
  CHECK(vkgraph_model_load(nullptr, &mp, &model) == VKGRAPH_ERR_CANCELLED);
  CHECK(std::string(vkgraph_last_error()).find("cancelled") != std::string::npos);
}

TEST_CASE("capi: tokenize, detokenize and the chat template", "[capi]") {
  vkgraph_model* model = load_default();
  const auto ids = tokenize(model, "Once upon a time");
  REQUIRE(ids.size() == 5);  // BOS + 4, as `vkgraph run` evaluates it
  size_t len = 0;
  char small[4];
  CHECK(vkgraph_detokenize(model, ids.data() + 1, ids.size() - 1, small, sizeof small, &len) ==
        VKGRAPH_ERR_INVALID_ARGUMENT);
  std::vector<char> text(len + 1);
  REQUIRE(vkgraph_detokenize(model, ids.data() + 1, ids.size() - 1, text.data(), text.size(), &len) == VKGRAPH_OK);
  CHECK(std::string(text.data()) == "Once upon a time");

  const vkgraph_chat_message messages[] = {{"user", "Hi"}};
  REQUIRE(vkgraph_apply_chat_template(model, "chatml", messages, 1, 1, nullptr, 0, &len) ==
          VKGRAPH_ERR_INVALID_ARGUMENT);
  std::vector<char> prompt(len + 1);
  REQUIRE(vkgraph_apply_chat_template(model, "chatml", messages, 1, 1, prompt.data(), prompt.size(), &len) ==
          VKGRAPH_OK);
  CHECK(std::string(prompt.data()) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  CHECK(vkgraph_apply_chat_template(model, "nope", messages, 1, 1, prompt.data(), prompt.size(), &len) ==
        VKGRAPH_ERR_INVALID_ARGUMENT);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}

TEST_CASE("capi: cancel from another thread stops generation before the next token", "[capi]") {
  vkgraph_model* model = load_default();
  vkgraph_context* ctx = nullptr;
  REQUIRE(vkgraph_context_create(model, nullptr, &ctx) == VKGRAPH_OK);
  vkgraph_sampler* sampler = greedy();
  struct State {
    vkgraph_context* ctx;
    int tokens = 0;
  } state{ctx};
  // At the third token another thread cancels (and is joined), so the cancel is in place
  // before the loop checks again: no fourth token may follow.
  const auto on_token = [](vkgraph_token token, const char*, size_t, void* user) {
    auto* st = static_cast<State*>(user);
    if (token >= 0 && ++st->tokens == 3) {
      std::thread([st] { REQUIRE(vkgraph_context_cancel(st->ctx) == VKGRAPH_OK); }).join();
    }
    return 0;
  };
  const auto prompt = tokenize(model, "Once upon a time");
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = 200;
  gp.ignore_eos = 1;
  vkgraph_stop_reason stop{};
  REQUIRE(vkgraph_generate(ctx, sampler, prompt.data(), prompt.size(), &gp, on_token, &state, &stop) == VKGRAPH_OK);
  CHECK(stop == VKGRAPH_STOP_CANCELLED);
  CHECK(state.tokens == 3);
  vkgraph_timings t{};
  REQUIRE(vkgraph_context_timings(ctx, &t) == VKGRAPH_OK);
  CHECK(t.generated_tokens == 3);
  CHECK(t.prompt_tokens == int64_t(prompt.size()));

  // A cancel before a call does not stop the next one; the callback itself can stop too.
  REQUIRE(vkgraph_context_cancel(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_context_reset(ctx) == VKGRAPH_OK);
  const auto stop_at_once = [](vkgraph_token, const char*, size_t, void*) { return 1; };
  gp.max_tokens = 10;
  REQUIRE(vkgraph_generate(ctx, sampler, prompt.data(), prompt.size(), &gp, stop_at_once, nullptr, &stop) ==
          VKGRAPH_OK);
  CHECK(stop == VKGRAPH_STOP_CANCELLED);
  REQUIRE(vkgraph_context_timings(ctx, &t) == VKGRAPH_OK);
  CHECK(t.generated_tokens == 1);

  REQUIRE(vkgraph_sampler_free(sampler) == VKGRAPH_OK);
  REQUIRE(vkgraph_context_free(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}

TEST_CASE("capi: two contexts on one model, in turn and on two threads, give the same text", "[capi]") {
  vkgraph_model* model = load_default();
  vkgraph_context* a = nullptr;
  vkgraph_context* b = nullptr;
  REQUIRE(vkgraph_context_create(model, nullptr, &a) == VKGRAPH_OK);
  REQUIRE(vkgraph_context_create(model, nullptr, &b) == VKGRAPH_OK);
  vkgraph_sampler* sa = greedy();
  vkgraph_sampler* sb = greedy();
  const auto prompt_a = tokenize(model, "Once upon a time");
  const auto prompt_b = tokenize(model, "The cat");

  const std::string ref_a = complete(a, sa, prompt_a, 24);
  const std::string ref_b = complete(b, sb, prompt_b, 24);
  CHECK(ref_a.size() > 20);
  CHECK(ref_a != ref_b);
  // `a` continued after its text; a reset context gives the same completion again.
  int32_t past = 0;
  REQUIRE(vkgraph_context_n_past(a, &past) == VKGRAPH_OK);
  CHECK(past == int32_t(prompt_a.size()) + 24);
  REQUIRE(vkgraph_context_reset(a) == VKGRAPH_OK);
  REQUIRE(vkgraph_context_reset(b) == VKGRAPH_OK);

  Completion got_a, got_b;
  std::thread ta([&] { got_a = try_complete(a, sa, prompt_a, 24); });
  std::thread tb([&] { got_b = try_complete(b, sb, prompt_b, 24); });
  ta.join();
  tb.join();
  INFO(got_a.error << got_b.error);
  CHECK(got_a.status == VKGRAPH_OK);
  CHECK(got_b.status == VKGRAPH_OK);
  CHECK(got_a.text == ref_a);
  CHECK(got_b.text == ref_b);

  REQUIRE(vkgraph_context_free(a) == VKGRAPH_OK);
  REQUIRE(vkgraph_context_free(b) == VKGRAPH_OK);
  REQUIRE(vkgraph_sampler_free(sa) == VKGRAPH_OK);
  REQUIRE(vkgraph_sampler_free(sb) == VKGRAPH_OK);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}

TEST_CASE("capi: devices list the CPU and Vulkan devices", "[capi]") {
  size_t count = 0;
  REQUIRE(vkgraph_list_devices(nullptr, 0, &count) == VKGRAPH_OK);
  REQUIRE(count >= 1);
  std::vector<vkgraph_device_info> devices(count);
  REQUIRE(vkgraph_list_devices(devices.data(), devices.size(), &count) == VKGRAPH_OK);
  CHECK(std::string(devices.back().backend) == "cpu");
  for (const auto& d : devices) CHECK(std::strlen(d.name) > 0);
}

TEST_CASE("capi: a cancel from an unsynchronized thread lets at most one more token through", "[capi]") {
  vkgraph_model* model = load_default();
  vkgraph_context* ctx = nullptr;
  REQUIRE(vkgraph_context_create(model, nullptr, &ctx) == VKGRAPH_OK);
  vkgraph_sampler* sampler = greedy();
  // Every wait below is bounded, so a broken cancel fails the test instead of hanging it: the
  // callback itself stops the generation once kLeash tokens followed the cancel.
  constexpr int kLeash = 50;
  struct Counter {
    std::atomic<int> tokens{0};
    std::atomic<int> cancelled_at{-1};
  } counter;
  const auto count = [](vkgraph_token token, const char*, size_t, void* user) {
    auto* c = static_cast<Counter*>(user);
    if (token < 0) return 0;
    const int n = c->tokens.fetch_add(1) + 1;
    const int at = c->cancelled_at.load();
    return at >= 0 && n > at + kLeash ? 1 : 0;
  };
  const auto prompt = tokenize(model, "Once upon a time");
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = 100000;  // more than the context holds: only the cancel (or the leash) ends it
  gp.ignore_eos = 1;
  vkgraph_stop_reason stop{};
  vkgraph_status status = VKGRAPH_ERR_INTERNAL;
  std::atomic<bool> finished{false};
  std::thread worker([&] {
    status = vkgraph_generate(ctx, sampler, prompt.data(), prompt.size(), &gp, count, &counter, &stop);
    finished.store(true);
  });
  // Four tokens, or the generation ended early (an error), within a minute.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (counter.tokens.load() < 4 && !finished.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const bool started = counter.tokens.load() >= 4;
  REQUIRE(vkgraph_context_cancel(ctx) == VKGRAPH_OK);
  const int at_cancel = counter.tokens.load();
  counter.cancelled_at.store(at_cancel);
  worker.join();
  INFO("status " << vkgraph_status_name(status) << ", " << counter.tokens.load() << " tokens, " << at_cancel
                 << " at the cancel");
  REQUIRE(started);
  REQUIRE(status == VKGRAPH_OK);
  CHECK(stop == VKGRAPH_STOP_CANCELLED);
  CHECK(counter.tokens.load() - at_cancel <= 1);
  REQUIRE(vkgraph_sampler_free(sampler) == VKGRAPH_OK);
  REQUIRE(vkgraph_context_free(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}
