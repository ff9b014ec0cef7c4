// A request's adapter choice for a server (models/lora/adapter_choice.h): llama-server's `lora`
// field, ids into the start-up adapters, the unlisted ones at scale 0.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cmath>

#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "models/lora/adapter_choice.h"
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
