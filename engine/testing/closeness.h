#pragma once
// "Close enough": the one comparison of values against a reference that the op cases, `vkgraph
// test-ops` and every test use. A NaN never passes: a measure that is NaN compares false with
// any bound, so a check written `if (err > bound) fail` or a running `std::max(worst, err)` lets
// it through; these functions count non-finite values before measuring and fail on any.
//
// An element matches when both values are finite, or when both are the same infinity (a
// reference can hold -inf, e.g. a masked score). A NaN on either side, or an infinity where the
// other side has something else, is a mismatch whatever the bound.

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace vkgraph::testing {

struct Closeness {
  double error = 0.0;         // the measure (NMSE or largest difference); +inf when values mismatch
  double bound = 0.0;         // what it had to stay within
  size_t mismatched = 0;      // elements non-finite on one side (or NaN on both)
  size_t first_mismatch = 0;  // index of the first of them
  double got_at_mismatch = 0.0, want_at_mismatch = 0.0;
  bool close = false;  // no mismatch and error <= bound

  explicit operator bool() const { return close; }
  // "NMSE 1.2e-07 (bound 1e-05)" or "3 non-finite values, the first at 17: nan where the
  // reference has 0.25".
  std::string describe() const;
};

// NMSE = sum((got - want)^2) / sum(want^2) (the plain sum of squares when `want` is all zeros).
Closeness nmse_close(std::span<const float> got, std::span<const float> want, double bound);
Closeness nmse_close(std::span<const double> got, std::span<const double> want, double bound);
// The same over rows (one NMSE over every element of every row; row lengths must agree).
Closeness nmse_close(const std::vector<std::vector<float>>& got, const std::vector<std::vector<float>>& want,
                     double bound);

// Every element within abs_bound + rel_bound * |want|; the error is the largest
// |got - want| / (abs_bound + rel_bound * |want|), so `close` means error <= 1.
Closeness elementwise_close(std::span<const float> got, std::span<const float> want, double abs_bound,
                            double rel_bound = 0.0);

// One value within abs_bound + rel_bound * |want|.
Closeness value_close(double got, double want, double abs_bound, double rel_bound = 0.0);

}  // namespace vkgraph::testing
