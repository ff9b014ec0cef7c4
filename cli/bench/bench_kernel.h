#pragma once
// `vkgraph bench --kernel NAME`: times one row of the Vulkan kernel table (or every row of a
// shader) on the op cases it runs, each checked against the CPU reference first.

#include <string>

namespace vkgraph::cli {

// Prints a markdown table: row, case, time per run, estimated GB/s, NMSE. Exit code 1 when a
// case fails or a row runs on no case.
int bench_kernel(const std::string& selector, const std::string& device, int runs);

}  // namespace vkgraph::cli
