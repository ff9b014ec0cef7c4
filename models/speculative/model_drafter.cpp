#include "models/speculative/model_drafter.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/error.h"

namespace vkgraph::models {
namespace {

// The draft draws with a generator of its own: its randomness must be independent of the
// acceptance test's, which uses the target's sampler.
constexpr uint64_t kDraftSeedSalt = 0x9e3779b97f4a7c15ull;

// The draft's own confidence in a token: its softmax probability at temperature 1 (greedy
// drafting has a one-hot q, which says nothing).
double softmax_probability(std::span<const float> logits, int32_t token) {
  const float top = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l) - top);
  return std::exp(double(logits[size_t(token)]) - top) / sum;
}

bool same_params(const SamplerParams& a, const SamplerParams& b) {
  return a.temperature == b.temperature && a.top_k == b.top_k && a.top_p == b.top_p && a.min_p == b.min_p &&
         a.repeat_penalty == b.repeat_penalty && a.repeat_last_n == b.repeat_last_n && a.seed == b.seed;
}

}  // namespace

ModelDrafter::ModelDrafter(const Model& draft, Backend& backend, SessionOptions session,
                           const ModelDrafterOptions& options)
    : options_(options) {
  VKGRAPH_CHECK(options.max_tokens >= 1 && options.max_tokens <= 256, "--draft-max must be in [1, 256] (got {})",
                options.max_tokens);
  VKGRAPH_CHECK(options.p_min >= 0.0f && options.p_min < 1.0f, "--draft-p-min must be in [0, 1) (got {})",
                options.p_min);
  session.spare_slots = options.max_tokens;
  session_ = std::make_unique<Session>(draft, backend, session);
}

Sampler& ModelDrafter::sampler_for(const SamplerParams& params) {
  if (!sampler_ || !same_params(params, sampler_params_)) {
    SamplerParams own = params;
    own.seed = params.seed ^ kDraftSeedSalt;
    sampler_.emplace(own);
    sampler_params_ = params;
  }
  return *sampler_;
}

std::vector<float> ModelDrafter::sync(std::span<const int32_t> context) {
  VKGRAPH_CHECK(!context.empty(), "internal: drafting after an empty context");
  Session& s = *session_;
  const auto evaluated = size_t(s.n_past() - s.n_tentative());
  size_t keep = 0;
  while (keep < held_.size() && keep < context.size() && held_[keep] == context[keep]) ++keep;
  // The last context token must run to give the logits the first draft is drawn from.
  keep = std::min(keep, context.size() - 1);
  if (keep >= evaluated) {
    s.accept(int64_t(keep - evaluated));  // the tentative drafts the context confirms
  } else {
    s.accept(0);
    if (!s.can_truncate(int64_t(keep))) keep = 0;  // the ring evicted what going back needs
    s.truncate(int64_t(keep));
  }
  held_.resize(keep);  // held_ and the context agree up to keep
  const std::span<const int32_t> rest = context.subspan(keep);
  std::vector<float> logits = s.eval(rest);
  held_.insert(held_.end(), rest.begin(), rest.end());
  ++steps_;
  return logits;
}

Draft ModelDrafter::propose(const DraftRequest& request) {
  Draft draft;
  const int32_t want = std::min(request.max_tokens, options_.max_tokens);
  if (want <= 0) return draft;
  VKGRAPH_CHECK(request.sampling != nullptr, "internal: drafting without sampling parameters");
  Sampler& sampler = sampler_for(*request.sampling);
  std::vector<float> logits = sync(request.context);

  // The penalty window of the draft's distributions: the context's tail, then its own drafts.
  const size_t window = size_t(std::max(0, request.sampling->repeat_last_n));
  std::vector<int32_t> recent(request.context.end() - std::ptrdiff_t(std::min(window, request.context.size())),
                              request.context.end());
  for (int32_t i = 0; i < want; ++i) {
    for (int32_t id : request.banned) logits[size_t(id)] = -std::numeric_limits<float>::infinity();
    TokenDistribution q = sampler.distribution(logits, recent);
    const int32_t token = sampler.draw(q);
    if (options_.p_min > 0.0f && softmax_probability(logits, token) < options_.p_min) break;
    draft.tokens.push_back(token);
    if (!sampler.greedy()) draft.distributions.push_back(std::move(q));
    recent.push_back(token);
    // The last draft needs no logits; nor does a full session (the proposal ends there).
    if (i + 1 == want || session_->tentative_room() < 1) break;
    const int32_t one[] = {token};
    logits = session_->eval_tentative(one);
    held_.push_back(token);
    ++steps_;
  }
  return draft;
}

}  // namespace vkgraph::models
