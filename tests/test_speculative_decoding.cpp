// Speculative decoding end to end on stories260K: greedy output token for token identical with
// and without drafts (the model drafting for itself, a draft that predicts nothing, n-gram
// lookup), on the CPU reference and on Vulkan; and with sampling, the tokens that come out
// distributed as plain sampling's (a chi-square test on the real models).

#include <catch2/catch_test_macros.hpp>

#include <map>
#include <vector>

#include "engine/backend/registry.h"
#include "models/bundled/default_model.h"
#include "models/chat/chat_template.h"
#include "models/conversation.h"
#include "models/model.h"
#include "models/speculative/model_drafter.h"
#include "models/speculative/ngram_drafter.h"
#include "tests/chi_square.h"
#include "tests/ring_support.h"
#include "tests/speculative_support.h"
#include "tests/temp_dir.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

void check_greedy_identity(const std::string& backend_name) {
  test::ValidationGuard guard;
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  testing::TempDir dir;
  const auto mismatched = models::Model::load(test::write_mismatched_draft(dir.file("draft.gguf")), *backend);
  // A ring that does not fill: speculative and plain decoding compute the same attention.
  const models::SessionOptions options = test::ring_options(512, 4);
  models::SpeculativeParams params;
  params.draft_max = 6;
  models::ModelDrafterOptions drafts;
  drafts.max_tokens = params.draft_max;
  const test::Generated plain = test::greedy_generation(*model, *backend, options, nullptr, 120);

  SECTION("the model drafting for itself: every draft accepted") {
    models::ModelDrafter self(*model, *backend, options, drafts);
    const test::Generated spec = test::greedy_generation(*model, *backend, options, &self, 120, params);
    CHECK(spec.tokens == plain.tokens);
    CHECK(spec.stats.drafted > 0);
    CHECK(spec.stats.accepted == spec.stats.drafted);
    // 119 tokens after the first in steps of draft_max + 1 = 7: 17 steps.
    CHECK(spec.stats.target_steps == 17);
  }
  SECTION("a draft of the same vocabulary that predicts nothing: most drafts rejected") {
    const test::Generated short_plain = test::greedy_generation(*model, *backend, options, nullptr, 40);
    models::ModelDrafter other(*mismatched, *backend, options, drafts);
    const test::Generated spec = test::greedy_generation(*model, *backend, options, &other, 40, params);
    CHECK(spec.tokens == short_plain.tokens);
    INFO(spec.stats.accepted << " of " << spec.stats.drafted << " accepted");
    CHECK(spec.stats.drafted > 0);
    CHECK(spec.stats.accepted * 2 < spec.stats.drafted);
  }
  SECTION("n-gram drafts: the story's loops are found") {
    models::NgramDrafter ngram;
    const test::Generated spec = test::greedy_generation(*model, *backend, options, &ngram, 120, params);
    CHECK(spec.tokens == plain.tokens);
    INFO(spec.stats.accepted << " of " << spec.stats.drafted << " accepted");
    CHECK(spec.stats.accepted > 0);
    CHECK(spec.stats.accepted < spec.stats.drafted);  // some rejections were rolled back too
  }
  SECTION("the plain cache filling up: the same tokens up to the same limit") {
    const models::SessionOptions small = test::ring_options(64, 0);
    const test::Generated plain_small = test::greedy_generation(*model, *backend, small, nullptr, 120);
    CHECK(plain_small.tokens.size() < 120);  // the context ended the text
    models::ModelDrafter self(*model, *backend, small, drafts);
    const test::Generated spec = test::greedy_generation(*model, *backend, small, &self, 120, params);
    CHECK(spec.tokens == plain_small.tokens);
  }
}

}  // namespace

TEST_CASE("speculative: greedy output is token for token plain decoding's on the CPU", "[speculative][model]") {
  check_greedy_identity("cpu");
}

TEST_CASE("speculative: greedy output is token for token plain decoding's on Vulkan", "[speculative][model][vulkan]") {
  check_greedy_identity("vulkan");
}

// Sampling through the whole loop (drafter, verification step, rule, rollback, next step): the
// first three generated tokens after a fixed prompt, drawn 2000 times with speculation (one draft
// per step, so t2 is an accepted draft or a residual draw and t3 a bonus token or a plain step's),
// against the target's exact joint distribution p(t1) p(t2 | t1) p(t3 | t1 t2) from its logits.
// Temperature 2 and top-k 3 keep 27 outcomes with enough mass to test. The draft is stories260K
// with noise on its output matrix, so its q overlaps p without equalling it (about 40% of drafts
// accepted). Test: chi-square at alpha = 0.001 (seeds fixed). Power: against a loop whose
// rejections redraw from p instead of max(0, p - q) (the classic mistake) the statistic's
// expected excess N sum (alt - p)^2 / p is computed below and required to be several times the
// critical value; a loop that kept every draft would produce tokens p never gives (infinite).
TEST_CASE("speculative: sampled tokens are distributed as plain sampling's", "[speculative][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  testing::TempDir dir;
  const auto draft_model = models::Model::load(test::write_perturbed_copy(dir.file("near.gguf"), 0.8f, 3), *backend);
  models::SamplerParams sampling;
  sampling.temperature = 2.0f;
  sampling.top_k = 3;
  sampling.top_p = 1.0f;
  sampling.min_p = 0.0f;
  const models::SessionOptions options = test::ring_options(64, 0);
  const Tokenizer& tok = model->tokenizer();
  const std::vector<int32_t> prompt = tok.encode("Once upon a time", tok.add_bos(), true);

  // A model's distribution after the prompt and `more` tokens.
  const auto next_distribution = [&](const models::Model& m, const std::vector<int32_t>& more) {
    models::Session s(m, *backend, options);
    std::vector<int32_t> all = prompt;
    all.insert(all.end(), more.begin(), more.end());
    models::Sampler sampler(sampling);
    return sampler.distribution(s.eval(all));
  };
  // p, and the alternative that redraws rejections from p: min(p, q) + (1 - sum min(p, q)) p.
  std::map<std::vector<int32_t>, double> p, alternative;
  const models::TokenDistribution d1 = next_distribution(*model, {});
  for (int32_t t1 : d1.ids) {
    const models::TokenDistribution d2 = next_distribution(*model, {t1});
    const models::TokenDistribution q2 = next_distribution(*draft_model, {t1});
    double overlap = 0;
    for (int32_t t : d2.ids) overlap += std::min(d2.probability(t), q2.probability(t));
    for (int32_t t2 : d2.ids) {
      const double alt2 = std::min(d2.probability(t2), q2.probability(t2)) + (1 - overlap) * d2.probability(t2);
      const models::TokenDistribution d3 = next_distribution(*model, {t1, t2});
      for (int32_t t3 : d3.ids) {
        p[{t1, t2, t3}] = d1.probability(t1) * d2.probability(t2) * d3.probability(t3);
        alternative[{t1, t2, t3}] = d1.probability(t1) * alt2 * d3.probability(t3);
      }
    }
  }

  constexpr int64_t n = 2000;
  models::SpeculativeParams params;
  params.draft_max = 2;
  models::ModelDrafterOptions drafts;
  drafts.max_tokens = 2;
  models::ModelDrafter drafter(*draft_model, *backend, options, drafts);
  models::SessionOptions target_options = options;
  target_options.spare_slots = models::verification_slots(params);
  models::Session session(*model, *backend, target_options);
  const std::vector<float> prompt_logits = session.eval(prompt);
  std::map<std::vector<int32_t>, int64_t> observed;
  int64_t drafted = 0, accepted = 0;
  for (int64_t i = 0; i < n; ++i) {
    session.truncate(int64_t(prompt.size()));
    models::SamplerParams seeded = sampling;
    seeded.seed = uint64_t(1000 + i);
    models::Sampler sampler(seeded);
    std::vector<int32_t> history = prompt;
    models::GenerateOptions g;
    g.max_tokens = 3;
    g.ignore_eos = true;
    g.drafter = &drafter;
    g.speculative = params;
    const models::GenerateResult r =
        models::generate(session, prompt_logits, sampler, history, g, [](const std::string&) {});
    REQUIRE(r.tokens.size() == 3);
    observed[r.tokens]++;
    drafted += r.speculative.drafted;
    accepted += r.speculative.accepted;
  }
  const testing::ChiSquare test = testing::chi_square(observed, p, n);
  double excess = 0;  // expected under the alternative, minus the degrees of freedom
  for (const auto& [key, prob] : p) excess += double(n) * (alternative[key] - prob) * (alternative[key] - prob) / prob;
  INFO("chi-square " << test.statistic << " with " << test.dof << " degrees of freedom, critical " << test.critical
                     << "; " << accepted << " of " << drafted << " drafts accepted; the alternative would add "
                     << excess);
  CHECK(test.passes());
  // Both outcomes of the rule happened often.
  CHECK(accepted > drafted / 5);
  CHECK(accepted < drafted * 4 / 5);
  CHECK(excess > 3 * test.critical);
}

// A chat keeps the draft model in step across turns: each turn truncates the target's cache to
// the reused prefix and evaluates the new text; the drafter follows by common prefix.
TEST_CASE("speculative: a three-turn chat replies as without drafts", "[speculative][model]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  models::SamplerParams greedy;
  greedy.temperature = 0;
  const auto replies = [&](bool speculate, int64_t* drafted, int64_t* accepted) {
    models::SessionOptions options = test::ring_options(256, 4);
    models::SpeculativeParams params;
    params.draft_max = 4;
    options.spare_slots = models::verification_slots(params);
    models::Session session(*model, *backend, options);
    models::ModelDrafterOptions drafts;
    drafts.max_tokens = params.draft_max;
    models::ModelDrafter self(*model, *backend, test::ring_options(256, 4), drafts);
    models::Conversation chat(session, chat::ChatTemplate(chat::TemplateFamily::ChatML));
    chat.set_ignore_eos(true);
    if (speculate) chat.set_drafter(&self, params);
    models::Sampler sampler(greedy);
    std::vector<std::string> out;
    for (const char* message : {"Tell me a story.", "And then?", "Who was there?"}) {
      const models::TurnStats t = chat.reply(message, sampler, 24, [](const std::string&) {});
      *drafted += t.speculative.drafted;
      *accepted += t.speculative.accepted;
      out.push_back(chat.messages().back().content);
    }
    return out;
  };
  int64_t drafted = 0, accepted = 0;
  const std::vector<std::string> plain = replies(false, &drafted, &accepted);
  CHECK(drafted == 0);
  const std::vector<std::string> spec = replies(true, &drafted, &accepted);
  CHECK(spec == plain);
  CHECK(drafted > 0);
  CHECK(accepted == drafted);  // the model drafting for itself
}
