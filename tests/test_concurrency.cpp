// Two contexts on one model, generating on two threads at once, give exactly the tokens each
// gives alone: on the Vulkan backend (one device, one queue shared by both) and on the CPU
// backend. Run under ThreadSanitizer by scripts/test-sanitizers.sh.

#include <catch2/catch_test_macros.hpp>

#include <string>
#include <thread>
#include <vector>

#include "include/vkgraph.h"

namespace {

struct Run {
  std::vector<vkgraph_token> tokens;
  std::string text;
  vkgraph_status status = VKGRAPH_OK;
  std::string error;
};

int collect(vkgraph_token token, const char* piece, size_t len, void* user_data) {
  auto* r = static_cast<Run*>(user_data);
  r->text.append(piece, len);
  if (token >= 0) r->tokens.push_back(token);
  return 0;
}

class Fixture {
 public:
  explicit Fixture(const char* backend) {
    vkgraph_model_params mp = vkgraph_model_default_params();
    mp.backend = backend;
    const vkgraph_status s = vkgraph_model_load(nullptr, &mp, &model_);
    INFO(vkgraph_last_error());
    REQUIRE(s == VKGRAPH_OK);
    for (int i = 0; i < 2; ++i) {
      vkgraph_context_params cp = vkgraph_context_default_params();
      cp.n_ctx = 256;
      REQUIRE(vkgraph_context_create(model_, &cp, &contexts_[i]) == VKGRAPH_OK);
      vkgraph_sampler_params sp = vkgraph_sampler_default_params();
      sp.temperature = 0;
      REQUIRE(vkgraph_sampler_create(&sp, &samplers_[i]) == VKGRAPH_OK);
    }
  }
  ~Fixture() {
    for (int i = 0; i < 2; ++i) {
      vkgraph_sampler_free(samplers_[i]);
      vkgraph_context_free(contexts_[i]);
    }
    vkgraph_model_free(model_);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  std::vector<vkgraph_token> tokenize(const std::string& text) const {
    std::vector<vkgraph_token> ids(256);
    size_t n = 0;
    REQUIRE(vkgraph_tokenize(model_, text.data(), text.size(), 1, 1, ids.data(), ids.size(), &n) == VKGRAPH_OK);
    ids.resize(n);
    return ids;
  }

  // Greedy generation on context `i` from a reset state. No Catch2 macros: runs on threads.
  Run generate(int i, const std::vector<vkgraph_token>& prompt, int n) {
    Run r;
    r.status = vkgraph_context_reset(contexts_[i]);
    if (r.status != VKGRAPH_OK) {
      r.error = vkgraph_last_error();
      return r;
    }
    vkgraph_generate_params gp = vkgraph_generate_default_params();
    gp.max_tokens = n;
    vkgraph_stop_reason stop{};
    r.status = vkgraph_generate(contexts_[i], samplers_[i], prompt.data(), prompt.size(), &gp, collect, &r, &stop);
    if (r.status != VKGRAPH_OK) r.error = vkgraph_last_error();  // the message is per thread
    return r;
  }

 private:
  vkgraph_model* model_ = nullptr;
  vkgraph_context* contexts_[2] = {};
  vkgraph_sampler* samplers_[2] = {};
};

void same_tokens_in_turn_and_at_once(const char* backend) {
  Fixture f(backend);
  const std::vector<vkgraph_token> prompts[2] = {f.tokenize("Once upon a time"), f.tokenize("The little dog")};
  constexpr int kTokens = 32;

  // One at a time: the reference.
  const Run alone[2] = {f.generate(0, prompts[0], kTokens), f.generate(1, prompts[1], kTokens)};
  for (const Run& r : alone) {
    INFO(r.error);
    REQUIRE(r.status == VKGRAPH_OK);
    REQUIRE(r.tokens.size() == size_t(kTokens));
  }
  CHECK(alone[0].tokens != alone[1].tokens);

  // Both at once, a few rounds (each round interleaves differently), and with the prompts
  // swapped between the contexts: a context must not carry anything of the other's state.
  for (int round = 0; round < 3; ++round) {
    const bool swap = round == 1;
    Run together[2];
    std::thread a([&] { together[0] = f.generate(0, prompts[swap ? 1 : 0], kTokens); });
    std::thread b([&] { together[1] = f.generate(1, prompts[swap ? 0 : 1], kTokens); });
    a.join();
    b.join();
    for (int i = 0; i < 2; ++i) {
      INFO("round " << round << ", context " << i << ": " << together[i].error);
      REQUIRE(together[i].status == VKGRAPH_OK);
      const Run& expected = alone[swap ? 1 - i : i];
      CHECK(together[i].tokens == expected.tokens);
      CHECK(together[i].text == expected.text);
    }
  }
}

}  // namespace

TEST_CASE("concurrency: two Vulkan contexts on one model on two threads give the tokens of one at a time",
          "[concurrency][vulkan]") {
  same_tokens_in_turn_and_at_once("vulkan");
}

TEST_CASE("concurrency: two CPU contexts on one model on two threads give the tokens of one at a time",
          "[concurrency]") {
  same_tokens_in_turn_and_at_once("cpu");
}
