// The whole model against llama.cpp: logits at every prompt position (NMSE within the bounds
// of ../shared/reference/README.md) and greedy continuations token for token, on the CPU
// backend and on Vulkan.

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <fmt/format.h>

#include "engine/backend/registry.h"
#include "models/logits_dump.h"
#include "models/model.h"
#include "models/session.h"
#include "models/tokenizer/tokenizer.h"
#include "shared_files.h"
#include "vulkan_test_support.h"

using namespace vkgraph;

namespace {

struct ReferenceCase {
  const char* reference;  // under ../shared/reference/logits
  const char* model;      // under ../shared/models
  double nmse_bound;      // from reference/README.md: how close llama.cpp's own Vulkan backend lands
  bool compare_greedy;    // the synthetic models' continuations repeat one token: not worth comparing
};

// stories260K: the bound of 1e-5 (llama.cpp Vulkan: 4e-7). tiny-gqa: llama.cpp's Vulkan
// figures from reference/README.md (3e-5 F16, 3e-3 Q8_0, 8e-6 Q4_0).
const ReferenceCase cases[] = {
    {"stories260K-1.json", "stories260K.gguf", 1e-5, true},
    {"stories260K-2.json", "stories260K.gguf", 1e-5, true},
    {"stories260K-3.json", "stories260K.gguf", 1e-5, true},
    {"stories260K-4.json", "stories260K.gguf", 1e-5, true},
    {"tiny-gqa-f16.json", "tiny-gqa-f16.gguf", 3e-5, false},
    {"tiny-gqa-q8_0.json", "tiny-gqa-q8_0.gguf", 3e-3, false},
    {"tiny-gqa-q4_0.json", "tiny-gqa-q4_0.gguf", 8e-6, false},
};

void check_against_reference(const std::string& backend_name, const ReferenceCase& c) {
  const models::LogitsFile ref =
      models::read_logits_json(testing::shared_file(std::string("reference/logits/") + c.reference));
  auto backend = create_backend(backend_name, "");
  auto model = models::Model::load(testing::shared_file(std::string("models/") + c.model), *backend);
  const Tokenizer& tok = model->tokenizer();
  const size_t n_vocab = size_t(model->hparams().n_vocab);

  // The prompt tokenizes to the reference's ids (BOS first).
  CHECK(tok.encode(ref.prompt, tok.add_bos(), true) == ref.tokens);

  models::Session session(*model, *backend);
  const std::vector<float> flat = session.eval(ref.tokens, true);
  std::vector<std::vector<float>> ours(ref.tokens.size());
  for (size_t i = 0; i < ours.size(); ++i)
    ours[i].assign(flat.begin() + std::ptrdiff_t(i * n_vocab), flat.begin() + std::ptrdiff_t((i + 1) * n_vocab));
  const double err = models::nmse(ours, ref.logits);
  INFO(fmt::format("{} on {}: NMSE {:.3g} (bound {:.3g})", c.reference, backend_name, err, c.nmse_bound));
  CHECK(err <= c.nmse_bound);

  if (c.compare_greedy) {
    // Decode one token at a time, as the reference did.
    std::vector<int32_t> greedy;
    std::vector<float> logits(ours.back());
    for (size_t i = 0; i < ref.greedy.size(); ++i) {
      const auto next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      greedy.push_back(next);
      const int32_t one[] = {next};
      logits = session.eval(one);
    }
    CHECK(greedy == ref.greedy);
  }
}

}  // namespace

TEST_CASE("model logits and greedy tokens match llama.cpp on the CPU backend", "[model][reference]") {
  for (const ReferenceCase& c : cases) {
    DYNAMIC_SECTION(c.reference) { check_against_reference("cpu", c); }
  }
}

TEST_CASE("model logits and greedy tokens match llama.cpp on Vulkan", "[model][reference][vulkan]") {
  test::ValidationGuard guard;
  for (const ReferenceCase& c : cases) {
    DYNAMIC_SECTION(c.reference) { check_against_reference("vulkan", c); }
  }
}
