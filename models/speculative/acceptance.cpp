#include "models/speculative/acceptance.h"

#include <unordered_map>

#include "engine/core/error.h"

namespace vkgraph::models {
namespace {

// The normalized distribution as a map from id to probability.
std::unordered_map<int32_t, double> probabilities(const TokenDistribution& d) {
  const double total = d.total();
  std::unordered_map<int32_t, double> out;
  out.reserve(d.ids.size());
  for (size_t i = 0; i < d.ids.size(); ++i) out[d.ids[i]] += d.weights[i] / total;
  return out;
}

// A draw proportional to `weights` with one uniform number; a single candidate needs none.
int32_t draw_weighted(const std::vector<int32_t>& ids, const std::vector<double>& weights, double total, Sampler& rng) {
  if (ids.size() == 1) return ids[0];
  const double target = rng.uniform() * total;
  double acc = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    acc += weights[i];
    if (target < acc) return ids[i];
  }
  return ids.back();  // target within rounding of the total
}

}  // namespace

bool accept_draft_token(const TokenDistribution& p, const TokenDistribution& q, int32_t token, Sampler& rng) {
  const double pt = p.probability(token);
  const double qt = q.probability(token);
  VKGRAPH_CHECK(qt > 0.0, "internal: draft token {} has probability 0 under the distribution it was drawn from", token);
  if (pt <= 0.0) return false;
  if (pt >= qt) return true;
  return rng.uniform() < pt / qt;
}

int32_t draw_residual(const TokenDistribution& p, const TokenDistribution& q, Sampler& rng) {
  const std::unordered_map<int32_t, double> qp = probabilities(q);
  const double p_total = p.total();
  std::vector<int32_t> ids;
  std::vector<double> weights;
  double total = 0;
  for (size_t i = 0; i < p.ids.size(); ++i) {
    const auto it = qp.find(p.ids[i]);
    const double r = p.weights[i] / p_total - (it == qp.end() ? 0.0 : it->second);
    if (r > 0.0) {
      ids.push_back(p.ids[i]);
      weights.push_back(r);
      total += r;
    }
  }
  if (ids.empty()) return draw_weighted(p.ids, p.weights, p_total, rng);
  return draw_weighted(ids, weights, total, rng);
}

}  // namespace vkgraph::models
