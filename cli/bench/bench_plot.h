#pragma once
// `vkgraph bench --plot FILE.svg`: a bar chart of tokens/s per device and test, as a standalone
// SVG any browser shows. One panel per test (pp and tg rates differ by orders of magnitude, so
// each test gets its own scale), one horizontal bar per model and device (named above it),
// with the standard deviation as a whisker and the value printed beside the bar.

#include <string>
#include <vector>

#include "cli/bench/bench_row.h"

namespace vkgraph::bench {

// Each bar is a <rect class="bar"> with data-test, data-series and data-value (mean t/s)
// attributes, so a reader (or a test) can find them.
std::string plot_svg(const std::vector<BenchRow>& rows);

}  // namespace vkgraph::bench
