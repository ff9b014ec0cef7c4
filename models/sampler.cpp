#include "models/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "engine/core/error.h"

namespace vkgraph::models {

int32_t argmax(std::span<const float> logits) {
  VKGRAPH_CHECK(!logits.empty(), "argmax of empty logits");
  return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {
  VKGRAPH_CHECK(params.temperature >= 0.0f, "--temp must be >= 0 (got {})", params.temperature);
  VKGRAPH_CHECK(params.top_p > 0.0f && params.top_p <= 1.0f, "--top-p must be in (0, 1] (got {})", params.top_p);
  VKGRAPH_CHECK(params.min_p >= 0.0f && params.min_p < 1.0f, "--min-p must be in [0, 1) (got {})", params.min_p);
  VKGRAPH_CHECK(params.top_k >= 0, "--top-k must be >= 0 (got {})", params.top_k);
  VKGRAPH_CHECK(params.repeat_penalty > 0.0f, "--repeat-penalty must be > 0 (got {})", params.repeat_penalty);
}

double TokenDistribution::total() const {
  double sum = 0;
  for (double w : weights) sum += w;
  return sum;
}

double TokenDistribution::probability(int32_t id) const {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == id) return weights[i] / total();
  }
  return 0.0;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> recent) {
  if (params_.temperature == 0.0f && params_.repeat_penalty == 1.0f) return argmax(logits);
  return draw(distribution(logits, recent));
}

int32_t Sampler::draw(const TokenDistribution& d) {
  VKGRAPH_CHECK(!d.ids.empty() && d.ids.size() == d.weights.size(), "internal: drawing from an empty distribution");
  // A one-token distribution (greedy) is drawn without touching the generator.
  if (d.ids.size() == 1 && greedy()) return d.ids[0];
  std::discrete_distribution<size_t> pick(d.weights.begin(), d.weights.end());
  return d.ids[pick(rng_)];
}

double Sampler::uniform() { return double(rng_() >> 11) * 0x1.0p-53; }

TokenDistribution Sampler::distribution(std::span<const float> logits, std::span<const int32_t> recent) {
  VKGRAPH_CHECK(!logits.empty(), "sampling from empty logits");
  if (params_.temperature == 0.0f && params_.repeat_penalty == 1.0f) return TokenDistribution::one_hot(argmax(logits));

  candidates_.clear();
  candidates_.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) candidates_.emplace_back(logits[i], int32_t(i));

  if (params_.repeat_penalty != 1.0f && !recent.empty()) {
    const size_t n = std::min(recent.size(), size_t(std::max(0, params_.repeat_last_n)));
    const std::unordered_set<int32_t> seen(recent.end() - std::ptrdiff_t(n), recent.end());
    for (auto& [logit, id] : candidates_) {
      if (seen.count(id) != 0) logit = logit > 0 ? logit / params_.repeat_penalty : logit * params_.repeat_penalty;
    }
  }
  const auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (params_.temperature == 0.0f) {
    return TokenDistribution::one_hot(std::min_element(candidates_.begin(), candidates_.end(), by_logit)->second);
  }

  size_t keep = candidates_.size();
  if (params_.top_k > 0 && size_t(params_.top_k) < keep) {
    keep = size_t(params_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + std::ptrdiff_t(keep), candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  candidates_.resize(keep);

  // Softmax at temperature 1 for the p-based filters, then temperature for the draw.
  std::vector<double> p(keep);
  const double max_logit = candidates_.front().first;
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp(double(candidates_[i].first) - max_logit);
  for (double& v : p) v /= sum;

  size_t cut = keep;
  if (params_.top_p < 1.0f) {
    double acc = 0;
    for (size_t i = 0; i < keep; ++i) {
      acc += p[i];
      if (acc >= params_.top_p) {
        cut = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const double floor = params_.min_p * p[0];
    size_t i = 1;
    while (i < cut && p[i] >= floor) ++i;
    cut = i;
  }

  TokenDistribution d;
  d.ids.resize(cut);
  d.weights.resize(cut);
  for (size_t i = 0; i < cut; ++i) {
    d.ids[i] = candidates_[i].second;
    d.weights[i] = std::exp((double(candidates_[i].first) - max_logit) / params_.temperature);
  }
  return d;
}

}  // namespace vkgraph::models
