#pragma once
// A fixed-bucket histogram, as Prometheus exposes one: upper bounds, a count per bucket (the
// last bucket is +Inf), the sum and the count of every observation.

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace vkgraph::serving {

struct Histogram {
  std::vector<double> bounds;    // ascending upper bounds; an implicit +Inf bucket follows
  std::vector<uint64_t> counts;  // bounds.size() + 1 entries: observations in (bounds[i-1], bounds[i]]
  double sum = 0;
  uint64_t count = 0;

  Histogram() = default;
  explicit Histogram(std::initializer_list<double> upper_bounds)
      : bounds(upper_bounds), counts(upper_bounds.size() + 1, 0) {}

  void observe(double value) {
    size_t i = 0;
    while (i < bounds.size() && value > bounds[i]) ++i;
    counts[i]++;
    sum += value;
    count++;
  }
};

}  // namespace vkgraph::serving
