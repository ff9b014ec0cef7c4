#pragma once
// What every benchmark program shares: reading a flag's value, and a main() that turns an
// error into a message naming the program and exit code 1.

#include <fmt/core.h>

#include <exception>
#include <string>
#include <string_view>

#include "engine/backend/vulkan/kernel_table.h"
#include "engine/core/error.h"

namespace vkgraph::bench_tools {

// The value after flag argv[i] (advancing i), or an error naming the flag.
inline std::string flag_value(int argc, char** argv, int& i, std::string_view flag) {
  if (i + 1 >= argc) fail("{} needs a value", flag);
  return argv[++i];
}

// Parses the options, forces the kernels they name (--force) for the run, and runs.
template <typename Parse, typename Run>
int bench_main(const char* program, int argc, char** argv, Parse parse, Run run) {
  try {
    const auto options = parse(argc, argv);
    vk::ForcedKernels forced(options.force);
    run(options);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: {}\n", program, e.what());
    return 1;
  }
}

}  // namespace vkgraph::bench_tools
