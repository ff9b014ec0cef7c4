#include "engine/testing/closeness.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "engine/core/error.h"

namespace vkgraph::testing {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// Whether got and want can be measured against each other (both finite). Otherwise records a
// mismatch, except for the same infinity on both sides, which matches exactly and adds nothing.
bool measurable(Closeness& c, size_t index, double got, double want) {
  if (std::isfinite(got) && std::isfinite(want)) return true;
  if (std::isinf(got) && got == want) return false;
  if (c.mismatched++ == 0) {
    c.first_mismatch = index;
    c.got_at_mismatch = got;
    c.want_at_mismatch = want;
  }
  return false;
}

void finish(Closeness& c) {
  if (c.mismatched > 0) c.error = inf;
  // Written so that a NaN error (impossible after the counting above, kept as a second line of
  // defence) compares false and fails.
  c.close = c.mismatched == 0 && c.error <= c.bound;
}

// Adds the squared differences and squared reference values of one range to err and norm.
template <typename T>
void accumulate_nmse(Closeness& c, std::span<const T> got, std::span<const T> want, size_t offset, double& err,
                     double& norm) {
  for (size_t i = 0; i < got.size(); ++i) {
    if (!measurable(c, offset + i, double(got[i]), double(want[i]))) continue;
    const double d = double(got[i]) - double(want[i]);
    err += d * d;
    norm += double(want[i]) * double(want[i]);
  }
}

template <typename T>
Closeness nmse_span(std::span<const T> got, std::span<const T> want, double bound) {
  VKGRAPH_CHECK(got.size() == want.size(), "comparing {} values against a reference of {}", got.size(), want.size());
  double err = 0.0, norm = 0.0;
  Closeness c;
  c.bound = bound;
  accumulate_nmse(c, got, want, 0, err, norm);
  c.error = norm > 0.0 ? err / norm : err;
  finish(c);
  return c;
}

}  // namespace

std::string Closeness::describe() const {
  if (mismatched > 0) {
    return fmt::format("{} non-finite value{}, the first at index {}: {} where the reference has {}", mismatched,
                       mismatched == 1 ? "" : "s", first_mismatch, got_at_mismatch, want_at_mismatch);
  }
  return fmt::format("error {:.3g} (bound {:.3g}){}", error, bound, close ? "" : ": too far");
}

Closeness nmse_close(std::span<const float> got, std::span<const float> want, double bound) {
  return nmse_span(got, want, bound);
}

Closeness nmse_close(std::span<const double> got, std::span<const double> want, double bound) {
  return nmse_span(got, want, bound);
}

Closeness nmse_close(const std::vector<std::vector<float>>& got, const std::vector<std::vector<float>>& want,
                     double bound) {
  VKGRAPH_CHECK(got.size() == want.size(), "comparing {} rows against a reference of {}", got.size(), want.size());
  double err = 0.0, norm = 0.0;
  Closeness c;
  size_t offset = 0;
  for (size_t r = 0; r < got.size(); ++r) {
    VKGRAPH_CHECK(got[r].size() == want[r].size(), "row {}: {} values against a reference of {}", r, got[r].size(),
                  want[r].size());
    accumulate_nmse(c, std::span<const float>(got[r]), std::span<const float>(want[r]), offset, err, norm);
    offset += got[r].size();
  }
  c.bound = bound;
  c.error = norm > 0.0 ? err / norm : err;
  finish(c);
  return c;
}

Closeness elementwise_close(std::span<const float> got, std::span<const float> want, double abs_bound,
                            double rel_bound) {
  VKGRAPH_CHECK(got.size() == want.size(), "comparing {} values against a reference of {}", got.size(), want.size());
  VKGRAPH_CHECK(abs_bound > 0.0 || rel_bound > 0.0, "elementwise_close needs a positive bound");
  Closeness c;
  c.bound = 1.0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!measurable(c, i, double(got[i]), double(want[i]))) continue;
    const double allowed = abs_bound + rel_bound * std::fabs(double(want[i]));
    const double ratio = std::fabs(double(got[i]) - double(want[i])) / allowed;
    if (ratio > c.error) c.error = ratio;  // both finite here: no NaN can be skipped
  }
  finish(c);
  return c;
}

Closeness value_close(double got, double want, double abs_bound, double rel_bound) {
  Closeness c;
  c.bound = abs_bound + rel_bound * std::fabs(want);
  if (measurable(c, 0, got, want)) c.error = std::fabs(got - want);
  finish(c);
  return c;
}

}  // namespace vkgraph::testing
