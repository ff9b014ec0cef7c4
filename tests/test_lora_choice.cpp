// A request's adapter choice for a server (models/lora/adapter_choice.h): llama-server's `lora`
// field, ids into the start-up adapters, the unlisted ones at scale 0; and the serving engine
// applying each request's choice.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <optional>

#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "models/lora/adapter_choice.h"
#include "models/serving/engine.h"
#include "models/session.h"
#include "tests/shared_files.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("a request picks adapters among the loaded ones by id", "[lora]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(testing::shared_file("models/stories260K.gguf"), *backend);
  const std::string path = testing::shared_file("models/stories260K-lora.gguf");
  const std::vector<models::AdapterUse> loaded{{models::LoraAdapter::load(path, *model, *backend), 1.0f},
                                               {models::LoraAdapter::load(path, *model, *backend), 0.25f}};

  const auto chosen = models::choose_adapters(loaded, std::vector<models::AdapterRequest>{{1, 0.5f}});
  REQUIRE(chosen.size() == 2);
  CHECK(chosen[0].adapter == loaded[0].adapter);
  CHECK(chosen[0].scale == 0.0f);  // not listed: off
  CHECK(chosen[1].scale == 0.5f);
  const auto repeated = models::choose_adapters(loaded, std::vector<models::AdapterRequest>{{0, 0.5f}, {0, 2.0f}});
  CHECK(repeated[0].scale == 2.0f);  // the last one, as llama-server
  CHECK(models::choose_adapters(loaded, {})[1].scale == 0.0f);

  // What a session does with a choice: adapters at scale 0 are left out, so the base model.
  models::Session session(*model, *backend);
  session.set_adapters(models::choose_adapters(loaded, {}));
  const std::vector<int32_t> prompt{1, 403, 407};
  const std::vector<float> off = session.eval(prompt);
  session.reset();
  session.set_adapters({});
  CHECK(session.eval(prompt) == off);

  CHECK_THROWS_WITH(models::choose_adapters(loaded, std::vector<models::AdapterRequest>{{2, 1.0f}}),
                    ContainsSubstring("lora entry 0: id 2 is not a loaded adapter (2 are loaded: ids 0 to 1)"));
  CHECK_THROWS_WITH(models::choose_adapters(loaded, std::vector<models::AdapterRequest>{{0, std::nanf("")}}),
                    ContainsSubstring("lora entry 0: the scale of adapter 0 is not a finite number"));
}

TEST_CASE("a serving engine applies each request's adapter choice, several at once", "[lora][serving]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(testing::shared_file("models/stories260K.gguf"), *backend);
  const auto adapter =
      models::LoraAdapter::load(testing::shared_file("models/stories260K-lora.gguf"), *model, *backend);
  serving::EngineOptions options;
  options.kind = serving::EngineKind::session;  // the engine that serves adapters (`serve --lora`)
  options.n_parallel = 3;                       // the three requests run side by side, one session each
  options.n_ctx = 64;
  options.adapters = {{adapter, 1.0f}};
  {
    // The batched engine has no per-sequence adapter choice: it refuses them, saying which engine does.
    serving::EngineOptions batched = options;
    batched.kind = serving::EngineKind::batched;
    CHECK_THROWS_WITH(serving::Engine::create(*model, *backend, batched), ContainsSubstring("--engine session"));
  }
  auto engine = serving::Engine::create(*model, *backend, options);
  REQUIRE(engine->adapters().size() == 1);

  const std::vector<int32_t> prompt{1, 403, 407, 261};
  constexpr int64_t max_tokens = 12;
  // Greedy tokens of `prompt` in a fresh session applying `adapters` (the reference).
  const auto alone = [&](std::vector<models::AdapterUse> adapters) {
    models::SessionOptions so;
    so.n_ctx = 64;
    models::Session session(*model, *backend, so);
    session.set_adapters(std::move(adapters));
    std::vector<int32_t> tokens;
    std::vector<float> logits = session.eval(prompt);
    for (int64_t i = 0; i < max_tokens; ++i) {
      const auto next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      tokens.push_back(next);
      logits = session.eval(std::vector<int32_t>{next});
    }
    return tokens;
  };
  // Default (the start-up scale), the base alone, and twice the adapter (at half the scale this
  // prompt's greedy tokens are the base model's, so a lost choice would go unseen).
  const std::vector<std::optional<std::vector<models::AdapterUse>>> choices{
      std::nullopt, models::choose_adapters(engine->adapters(), {}),
      models::choose_adapters(engine->adapters(), std::vector<models::AdapterRequest>{{0, 2.0f}})};
  struct Result {
    std::vector<int32_t> tokens;
    std::promise<serving::Completion> done;
  };
  std::vector<std::unique_ptr<Result>> results;
  for (const auto& choice : choices) {
    auto& r = *results.emplace_back(std::make_unique<Result>());
    serving::Request request;
    request.prompt = prompt;
    request.max_tokens = max_tokens;
    request.sampling.temperature = 0;
    request.adapters = choice;
    engine->submit(
        request,
        [&r](int32_t t) {
          r.tokens.push_back(t);
          return true;
        },
        [&r](const serving::Completion& c) { r.done.set_value(c); });
  }
  const std::vector<std::vector<int32_t>> expected{alone({{adapter, 1.0f}}), alone({}), alone({{adapter, 2.0f}})};
  // The adapter changes this prompt's greedy tokens, so equal token lists are not an accident.
  REQUIRE(expected[0] != expected[1]);
  REQUIRE(expected[2] != expected[1]);
  for (size_t i = 0; i < results.size(); ++i) {
    auto f = results[i]->done.get_future();
    // Generous: a dozen tokens of a 260K-parameter model take milliseconds; a hang fails here.
    REQUIRE(f.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    INFO("request " << i);
    CHECK(f.get().reason != serving::FinishReason::error);
    // Sessions stop at end-of-generation; the reference does not, so compare what both made.
    const std::vector<int32_t> want(expected[i].begin(),
                                    expected[i].begin() + std::ptrdiff_t(results[i]->tokens.size()));
    CHECK(results[i]->tokens == want);
    CHECK(!results[i]->tokens.empty());
  }

  // An adapter loaded for another model is refused at submit, naming it.
  const auto other_model = models::Model::load(testing::shared_file("models/stories260K.gguf"), *backend);
  serving::Request foreign;
  foreign.prompt = prompt;
  foreign.adapters = std::vector<models::AdapterUse>{
      {models::LoraAdapter::load(testing::shared_file("models/stories260K-lora.gguf"), *other_model, *backend), 1.0f}};
  CHECK_THROWS_WITH(engine->submit(
                        foreign, [](int32_t) { return true; }, [](const serving::Completion&) {}),
                    ContainsSubstring("was not loaded for this model"));
  engine->drain();
}
