#pragma once
// Pearson's chi-square goodness-of-fit test for the sampling tests: observed counts against
// expected probabilities, with cells whose expected count is under 5 pooled into one (the usual
// validity condition of the chi-square approximation).

#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

namespace vkgraph::testing {

struct ChiSquare {
  double statistic = 0;
  int dof = 0;
  double critical = 0;  // the statistic a true hypothesis exceeds with probability alpha
  bool passes() const { return statistic <= critical; }  // false for a NaN statistic
};

// The upper-tail quantile of chi-square with `dof` degrees of freedom for the standard normal
// quantile `z` (3.0902 for alpha = 0.001): Wilson and Hilferty's cube approximation. At this tail
// it lies above the exact quantile by 1.7% at dof 3, 1.1% at 5 and 0.6% at 10 (exact: 16.27,
// 20.52, 29.59), so a test at "alpha = 0.001" is at most that much more lenient.
inline double chi_square_critical(int dof, double z) {
  const double k = double(dof);
  const double a = 2.0 / (9.0 * k);
  return k * std::pow(1.0 - a + z * std::sqrt(a), 3.0);
}

// `observed` counts per outcome, `expected` probabilities per outcome (summing to 1 over every
// outcome that can happen; an observed outcome missing from `expected` has probability 0 and
// makes the statistic infinite).
template <typename Key>
ChiSquare chi_square(const std::map<Key, int64_t>& observed, const std::map<Key, double>& expected, int64_t n,
                     double z = 3.0902) {
  ChiSquare r;
  double pooled_expected = 0, pooled_observed = 0;
  int cells = 0;
  for (const auto& [key, p] : expected) {
    const double e = p * double(n);
    const auto it = observed.find(key);
    const double o = it == observed.end() ? 0.0 : double(it->second);
    if (e < 5.0) {
      pooled_expected += e;
      pooled_observed += o;
      continue;
    }
    r.statistic += (o - e) * (o - e) / e;
    ++cells;
  }
  for (const auto& [key, count] : observed) {
    if (expected.find(key) == expected.end() && count > 0) r.statistic = INFINITY;
  }
  if (pooled_expected > 0) {
    r.statistic += (pooled_observed - pooled_expected) * (pooled_observed - pooled_expected) / pooled_expected;
    ++cells;
  }
  r.dof = std::max(1, cells - 1);
  r.critical = chi_square_critical(r.dof, z);
  return r;
}

}  // namespace vkgraph::testing
