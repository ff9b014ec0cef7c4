// The acceptance rule of speculative sampling and n-gram lookup, as pure functions: the token
// that comes out of the rule is distributed as the target's p whatever the draft's q (a
// chi-square test over many draws), greedy verification needs no randomness, and prompt lookup
// proposes what followed the best earlier match.

#include <catch2/catch_test_macros.hpp>

#include <cmath>
#include <map>
#include <vector>

#include "models/sampler.h"
#include "models/speculative/acceptance.h"
#include "models/speculative/ngram_drafter.h"
#include "models/speculative/verification.h"
#include "tests/chi_square.h"

using namespace vkgraph;

namespace {

// Distributions on a vocabulary of 6 that disagree in every way the rule must handle: tokens
// q favours (p/q < 1, rejected at times), tokens p favours (only reached through the residual),
// a token only q can draw (always rejected) and one only p can draw.
const models::TokenDistribution kP{{0, 1, 2, 3, 4}, {0.30, 0.25, 0.20, 0.15, 0.10}};
const models::TokenDistribution kQ{{0, 1, 2, 3, 5}, {0.10, 0.40, 0.05, 0.25, 0.20}};

models::Sampler seeded(uint64_t seed, float temperature = 1.0f) {
  models::SamplerParams params;
  params.temperature = temperature;
  params.seed = seed;
  return models::Sampler(params);
}

}  // namespace

// The test: Pearson's chi-square of 200000 outputs against p, 4 degrees of freedom, at
// alpha = 0.001 (critical value 18.7; a correct rule fails for one seed in a thousand, and these
// seeds are fixed). Power: against "the draft's token is always kept" (the output is then q) the
// statistic's expected value is N sum (q - p)^2 / p = 200000 x 0.50 = 100000, and token 5 alone
// makes it infinite; against a rule that forgot the residual (a rejection redrawn from p instead
// of max(0, p - q)) it is 28700. An error that moves one probability by 0.005 adds about
// 200000 x 0.005^2 / 0.2 = 25 and is caught more often than not.
TEST_CASE("speculative: the token the acceptance rule gives is distributed as the target's", "[speculative]") {
  constexpr int64_t n = 200000;
  models::Sampler draft_rng = seeded(1);   // draws the draft tokens from q
  models::Sampler target_rng = seeded(2);  // the rule's own randomness, independent of the draft's
  std::map<int32_t, int64_t> observed;
  int64_t accepted = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t d = draft_rng.draw(kQ);
    int32_t out = d;
    if (models::accept_draft_token(kP, kQ, d, target_rng)) {
      ++accepted;
    } else {
      out = models::draw_residual(kP, kQ, target_rng);
    }
    observed[out]++;
  }
  std::map<int32_t, double> expected;
  for (size_t i = 0; i < kP.ids.size(); ++i) expected[kP.ids[i]] = kP.probability(kP.ids[i]);
  const testing::ChiSquare test = testing::chi_square(observed, expected, n);
  INFO("chi-square " << test.statistic << " with " << test.dof << " degrees of freedom, critical " << test.critical);
  CHECK(test.passes());
  // The acceptance probability is sum min(p, q) = 0.10 + 0.25 + 0.05 + 0.15 = 0.55; 4.5 standard
  // deviations of a binomial of 200000 are 0.005.
  CHECK(std::fabs(double(accepted) / double(n) - 0.55) < 0.005);
}

TEST_CASE("speculative: with the sampler's transformations p and q are what sample() draws from", "[speculative]") {
  // Logits over 8 tokens through temperature, top-k, top-p, min-p and the repetition penalty:
  // sample() draws are distributed as distribution(), so verification's p is plain sampling's.
  models::SamplerParams params;
  params.temperature = 0.7f;
  params.top_k = 6;
  params.top_p = 0.9f;
  params.min_p = 0.02f;
  params.repeat_penalty = 1.3f;
  params.seed = 11;
  const std::vector<float> logits{2.0f, 1.5f, 1.4f, 0.3f, -0.2f, 1.0f, -1.0f, 0.8f};
  const std::vector<int32_t> recent{1, 5};
  models::Sampler sampler(params);
  const models::TokenDistribution p = sampler.distribution(logits, recent);
  REQUIRE(p.ids.size() >= 3);  // the filters keep a real choice
  constexpr int64_t n = 50000;
  std::map<int32_t, int64_t> observed;
  for (int64_t i = 0; i < n; ++i) observed[sampler.sample(logits, recent)]++;
  std::map<int32_t, double> expected;
  for (int32_t id : p.ids) expected[id] = p.probability(id);
  const testing::ChiSquare test = testing::chi_square(observed, expected, n);
  INFO("chi-square " << test.statistic << " with " << test.dof << " degrees of freedom, critical " << test.critical);
  CHECK(test.passes());
}

TEST_CASE("speculative: greedy verification accepts the target's choices and uses no randomness", "[speculative]") {
  const models::TokenDistribution p = models::TokenDistribution::one_hot(3);
  models::Sampler rng = seeded(5, 0.0f);
  models::Sampler untouched = seeded(5, 0.0f);
  CHECK(models::accept_draft_token(p, models::TokenDistribution::one_hot(3), 3, rng));
  CHECK_FALSE(models::accept_draft_token(p, models::TokenDistribution::one_hot(4), 4, rng));
  CHECK(models::draw_residual(p, models::TokenDistribution::one_hot(4), rng) == 3);
  CHECK(rng.uniform() == untouched.uniform());  // the generator did not move

  // A whole verification: logits rows for [x, d0, d1, d2] whose argmaxes are 7, 2, 9, 1.
  const size_t n_vocab = 10;
  std::vector<float> rows(4 * n_vocab, 0.0f);
  const int32_t best[] = {7, 2, 9, 1};
  for (size_t r = 0; r < 4; ++r) rows[r * n_vocab + size_t(best[r])] = 1.0f;
  models::Sampler greedy = seeded(0, 0.0f);
  models::Draft draft;
  draft.tokens = {7, 2, 4};  // the third is wrong
  const std::vector<int32_t> history{1, 2, 3};
  models::Verdict v = models::verify_drafts({rows, &draft, history, {}}, greedy);
  CHECK(v.n_accepted == 2);
  CHECK(v.next == 9);
  draft.tokens = {7, 2, 9};  // all right: the bonus token comes from the last row
  v = models::verify_drafts({rows, &draft, history, {}}, greedy);
  CHECK(v.n_accepted == 3);
  CHECK(v.next == 1);
  const int32_t banned[] = {1};  // end of text under ignore_eos: the bonus is the next best
  v = models::verify_drafts({rows, &draft, history, banned}, greedy);
  CHECK(v.n_accepted == 3);
  CHECK(v.next == 0);
}

TEST_CASE("speculative: prompt lookup continues the longest earlier match", "[speculative]") {
  models::NgramOptions o;
  o.min_match = 2;
  // "5 6 7" occurred at the start followed by 8 9; "6 7" also later followed by 1.
  const std::vector<int32_t> c{5, 6, 7, 8, 9, 6, 7, 1, 3, 5, 6, 7};
  CHECK(models::ngram_proposal(c, 3, o) == std::vector<int32_t>{8, 9, 6});
  // Equal matches: the most recent wins ("6 7" -> 1 rather than 8).
  const std::vector<int32_t> c2{6, 7, 8, 0, 6, 7, 1, 0, 6, 7};
  CHECK(models::ngram_proposal(c2, 2, o) == std::vector<int32_t>{1, 0});
  // A match shorter than min_match proposes nothing.
  const std::vector<int32_t> c3{1, 2, 3, 4, 2};
  CHECK(models::ngram_proposal(c3, 4, o).empty());
  o.min_match = 1;
  CHECK(models::ngram_proposal(c3, 2, o) == std::vector<int32_t>{3, 4});
  // A loop is continued past the end of the context as far as asked.
  const std::vector<int32_t> loop{4, 1, 2, 3, 1, 2, 3, 1, 2};
  CHECK(models::ngram_proposal(loop, 7, o) == std::vector<int32_t>{3, 1, 2, 3, 1, 2, 3});
  CHECK(models::ngram_proposal(loop, 0, o).empty());
}
