// The C API under misuse an application can fall into: freeing a model before its contexts,
// one context used from two threads at once, and calls on a context from inside its own
// vkgraph_generate token callback. Each gives a defined result (the model kept alive, or
// VKGRAPH_ERR_BUSY naming the cause), never a use after free, a race or a deadlock. Run under
// ASan + UBSan and TSan by scripts/test-sanitizers.sh. Every wait is bounded: a regression
// fails the test instead of hanging it.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "include/vkgraph.h"

using Catch::Matchers::ContainsSubstring;

namespace {

// Long enough for any step of the bundled model on a loaded machine, short enough that a
// deadlock fails the test well inside ctest's timeout.
constexpr auto kWaitLimit = std::chrono::seconds(60);

vkgraph_model* load_cpu_model() {
  vkgraph_model_params mp = vkgraph_model_default_params();
  mp.backend = "cpu";
  vkgraph_model* model = nullptr;
  const vkgraph_status s = vkgraph_model_load(nullptr, &mp, &model);
  INFO(vkgraph_last_error());
  REQUIRE(s == VKGRAPH_OK);
  return model;
}

vkgraph_context* new_context(vkgraph_model* model) {
  vkgraph_context_params cp = vkgraph_context_default_params();
  cp.n_ctx = 128;
  vkgraph_context* ctx = nullptr;
  REQUIRE(vkgraph_context_create(model, &cp, &ctx) == VKGRAPH_OK);
  return ctx;
}

vkgraph_sampler* greedy() {
  vkgraph_sampler_params sp = vkgraph_sampler_default_params();
  sp.temperature = 0;
  vkgraph_sampler* sampler = nullptr;
  REQUIRE(vkgraph_sampler_create(&sp, &sampler) == VKGRAPH_OK);
  return sampler;
}

std::vector<vkgraph_token> prompt_of(vkgraph_model* model, const std::string& text) {
  std::vector<vkgraph_token> ids(64);
  size_t n = 0;
  REQUIRE(vkgraph_tokenize(model, text.data(), text.size(), 1, 1, ids.data(), ids.size(), &n) == VKGRAPH_OK);
  ids.resize(n);
  return ids;
}

int collect_tokens(vkgraph_token token, const char*, size_t, void* user) {
  if (token >= 0) static_cast<std::vector<vkgraph_token>*>(user)->push_back(token);
  return 0;
}

// Greedy tokens after `prompt` on a reset context (no Catch2 macros: may run on a thread).
struct Generated {
  vkgraph_status status = VKGRAPH_ERR_INTERNAL;
  std::string error;
  std::vector<vkgraph_token> tokens;
};
Generated generate(vkgraph_context* ctx, vkgraph_sampler* sampler, const std::vector<vkgraph_token>& prompt, int n,
                   vkgraph_token_fn on_token = collect_tokens, void* user = nullptr) {
  Generated g;
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = n;
  gp.ignore_eos = 1;
  if (vkgraph_context_reset(ctx) != VKGRAPH_OK) {
    g.error = vkgraph_last_error();
    return g;
  }
  g.status = vkgraph_generate(ctx, sampler, prompt.data(), prompt.size(), &gp, on_token,
                              user != nullptr ? user : &g.tokens, nullptr);
  if (g.status != VKGRAPH_OK) g.error = vkgraph_last_error();
  return g;
}

// A one-shot signal with a bounded wait.
class Signal {
 public:
  void set() {
    std::lock_guard lock(mutex_);
    set_ = true;
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kWaitLimit, [this] { return set_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool set_ = false;
};

}  // namespace

TEST_CASE("capi: freeing a model before its contexts keeps it alive until the last context is freed", "[capi]") {
  vkgraph_model* model = load_cpu_model();
  vkgraph_context* a = new_context(model);
  vkgraph_context* b = new_context(model);
  vkgraph_sampler* sampler = greedy();
  const std::vector<vkgraph_token> prompt = prompt_of(model, "Once upon a time");
  const Generated before = generate(a, sampler, prompt, 12);
  REQUIRE(before.status == VKGRAPH_OK);

  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
  // The handle is gone at once...
  vkgraph_context* more = nullptr;
  CHECK(vkgraph_context_create(model, nullptr, &more) == VKGRAPH_ERR_INVALID_HANDLE);
  CHECK(more == nullptr);
  int32_t n_vocab = 0;
  CHECK(vkgraph_model_n_vocab(model, &n_vocab) == VKGRAPH_ERR_INVALID_HANDLE);
  // ...while its contexts go on with its weights and device (ASan reports any use after free).
  const Generated after_a = generate(a, sampler, prompt, 12);
  const Generated after_b = generate(b, sampler, prompt, 12);
  INFO(after_a.error << after_b.error);
  CHECK(after_a.status == VKGRAPH_OK);
  CHECK(after_b.status == VKGRAPH_OK);
  CHECK(after_a.tokens == before.tokens);
  CHECK(after_b.tokens == before.tokens);
  REQUIRE(vkgraph_context_free(a) == VKGRAPH_OK);
  const Generated last = generate(b, sampler, prompt, 12);
  CHECK(last.tokens == before.tokens);
  // The last context takes the model with it (LSan reports a leak otherwise).
  REQUIRE(vkgraph_context_free(b) == VKGRAPH_OK);
  CHECK(vkgraph_context_free(b) == VKGRAPH_ERR_INVALID_HANDLE);
  REQUIRE(vkgraph_sampler_free(sampler) == VKGRAPH_OK);
}

TEST_CASE("capi: a context in use by one thread refuses every other thread's call with VKGRAPH_ERR_BUSY", "[capi]") {
  vkgraph_model* model = load_cpu_model();
  vkgraph_context* ctx = new_context(model);
  vkgraph_sampler* sampler = greedy();
  const std::vector<vkgraph_token> prompt = prompt_of(model, "Once upon a time");
  const Generated alone = generate(ctx, sampler, prompt, 8);
  REQUIRE(alone.status == VKGRAPH_OK);

  // The generating thread parks in its callback after its third token until the other thread
  // has made its calls, so they surely overlap the generation.
  struct Parked {
    std::vector<vkgraph_token> tokens;
    Signal inside, done;
    bool waited = true;
  } parked;
  const auto park = [](vkgraph_token token, const char*, size_t, void* user) {
    auto* p = static_cast<Parked*>(user);
    if (token < 0) return 0;
    p->tokens.push_back(token);
    if (p->tokens.size() == 3) {
      p->inside.set();
      p->waited = p->done.wait();
    }
    return 0;
  };
  Generated generating;
  std::thread worker([&] { generating = generate(ctx, sampler, prompt, 8, park, &parked); });
  REQUIRE(parked.inside.wait());

  const vkgraph_token one[] = {prompt[0]};
  struct Refusal {
    const char* call;
    vkgraph_status status;
    std::string message;
  };
  std::vector<Refusal> refusals;
  const auto record = [&](const char* call, vkgraph_status s) { refusals.push_back({call, s, vkgraph_last_error()}); };
  record("vkgraph_eval", vkgraph_eval(ctx, one, 1, nullptr));
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  record("vkgraph_generate", vkgraph_generate(ctx, sampler, one, 1, &gp, nullptr, nullptr, nullptr));
  record("vkgraph_context_reset", vkgraph_context_reset(ctx));
  int32_t n_past = -1;
  record("vkgraph_context_n_past", vkgraph_context_n_past(ctx, &n_past));
  vkgraph_timings timings{};
  record("vkgraph_context_timings", vkgraph_context_timings(ctx, &timings));
  record("vkgraph_context_free", vkgraph_context_free(ctx));
  parked.done.set();
  worker.join();

  for (const Refusal& r : refusals) {
    INFO(r.call << ": " << r.message);
    CHECK(r.status == VKGRAPH_ERR_BUSY);
    CHECK_THAT(r.message, ContainsSubstring(r.call) && ContainsSubstring("another thread"));
  }
  CHECK(n_past == -1);  // nothing was written by a refused call
  CHECK(parked.waited);
  // The generation was untouched by the refused calls.
  INFO(generating.error);
  CHECK(generating.status == VKGRAPH_OK);
  CHECK(parked.tokens == alone.tokens);
  REQUIRE(vkgraph_context_n_past(ctx, &n_past) == VKGRAPH_OK);
  CHECK(n_past == int32_t(prompt.size() + alone.tokens.size()));

  REQUIRE(vkgraph_context_free(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_sampler_free(sampler) == VKGRAPH_OK);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}

TEST_CASE("capi: two threads racing on one context each get OK or VKGRAPH_ERR_BUSY and the context stays whole",
          "[capi]") {
  // No ordering is forced here: ThreadSanitizer sees whatever interleaving happens, and every
  // call either runs alone or is refused.
  vkgraph_model* model = load_cpu_model();
  vkgraph_context* ctx = new_context(model);
  const std::vector<vkgraph_token> prompt = prompt_of(model, "Once upon a time");
  constexpr int kCalls = 200;
  std::atomic<int> ok{0}, busy{0}, other{0};
  const auto hammer = [&] {
    for (int i = 0; i < kCalls; ++i) {
      const vkgraph_token one[] = {prompt[size_t(i) % prompt.size()]};
      const vkgraph_status s = i % 10 == 0 ? vkgraph_context_reset(ctx) : vkgraph_eval(ctx, one, 1, nullptr);
      (s == VKGRAPH_OK ? ok : s == VKGRAPH_ERR_BUSY ? busy : other).fetch_add(1);
    }
  };
  std::thread a(hammer), b(hammer);
  a.join();
  b.join();
  CHECK(other.load() == 0);
  CHECK(ok.load() + busy.load() == 2 * kCalls);
  CHECK(ok.load() > 0);
  // The context still works and counts what it holds.
  REQUIRE(vkgraph_context_reset(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_eval(ctx, prompt.data(), prompt.size(), nullptr) == VKGRAPH_OK);
  int32_t n_past = 0;
  REQUIRE(vkgraph_context_n_past(ctx, &n_past) == VKGRAPH_OK);
  CHECK(n_past == int32_t(prompt.size()));
  REQUIRE(vkgraph_context_free(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}

TEST_CASE("capi: calls on a context from inside its own generate callback are refused, other contexts work", "[capi]") {
  vkgraph_model* model = load_cpu_model();
  vkgraph_context* ctx = new_context(model);
  vkgraph_context* other = new_context(model);
  vkgraph_sampler* sampler = greedy();
  const std::vector<vkgraph_token> prompt = prompt_of(model, "Once upon a time");
  const Generated alone = generate(ctx, sampler, prompt, 6);
  REQUIRE(alone.status == VKGRAPH_OK);

  struct Inside {
    vkgraph_context* ctx;
    vkgraph_context* other;
    vkgraph_sampler* sampler;
    vkgraph_token first_prompt_token;
    std::vector<vkgraph_token> tokens;
    std::vector<std::pair<vkgraph_status, std::string>> own;  // calls on ctx itself
    vkgraph_status read = VKGRAPH_ERR_INTERNAL, other_eval = VKGRAPH_ERR_INTERNAL;
    int32_t n_past = -1;
  } in{ctx, other, sampler, prompt[0], {}, {}};
  const auto reenter = [](vkgraph_token token, const char*, size_t, void* user) {
    auto* s = static_cast<Inside*>(user);
    if (token < 0) return 0;
    s->tokens.push_back(token);
    if (s->tokens.size() != 2) return 0;
    const vkgraph_token one[] = {s->first_prompt_token};
    vkgraph_generate_params gp = vkgraph_generate_default_params();
    gp.max_tokens = 2;
    const auto note = [s](vkgraph_status st) { s->own.emplace_back(st, vkgraph_last_error()); };
    note(vkgraph_generate(s->ctx, s->sampler, one, 1, &gp, nullptr, nullptr, nullptr));
    note(vkgraph_eval(s->ctx, one, 1, nullptr));
    note(vkgraph_context_reset(s->ctx));
    note(vkgraph_context_free(s->ctx));
    // Reading is allowed (the generation is paused on this thread), and so is another context
    // of the same model: its device work takes the same lock, which this thread already holds.
    s->read = vkgraph_context_n_past(s->ctx, &s->n_past);
    s->other_eval = vkgraph_eval(s->other, one, 1, nullptr);
    return 0;
  };
  // A deadlock here would hang: run it on a thread and wait a bounded time.
  Generated outer;
  Signal finished;
  std::thread worker([&] {
    outer = generate(ctx, sampler, prompt, 6, reenter, &in);
    finished.set();
  });
  const bool returned = finished.wait();
  if (!returned) {
    worker.detach();  // cannot be joined; the process is failing anyway
    FAIL("vkgraph_generate did not return within " << kWaitLimit.count() << " s: a deadlock on re-entry");
  }
  worker.join();

  REQUIRE(in.own.size() == 4);
  for (const auto& [status, message] : in.own) {
    INFO(message);
    CHECK(status == VKGRAPH_ERR_BUSY);
    CHECK_THAT(message, ContainsSubstring("its own token callback"));
  }
  CHECK_THAT(in.own[0].second, ContainsSubstring("vkgraph_generate"));
  CHECK(in.read == VKGRAPH_OK);
  CHECK(in.n_past == int32_t(prompt.size() + 1));  // the prompt and the first token so far
  CHECK(in.other_eval == VKGRAPH_OK);
  INFO(outer.error);
  CHECK(outer.status == VKGRAPH_OK);
  CHECK(in.tokens == alone.tokens);  // the refused calls changed nothing

  REQUIRE(vkgraph_context_free(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_context_free(other) == VKGRAPH_OK);
  REQUIRE(vkgraph_sampler_free(sampler) == VKGRAPH_OK);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}
