#pragma once
// The one error type of the engine. Messages name the file, tensor, limit or argument at fault
// and what was expected; callers at the boundary (CLI, C API) print or return them.

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace vkgraph {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws an Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// Checks a condition that depends on input (files, arguments, devices), never on our own logic.
#define VKGRAPH_CHECK(cond, ...)               \
  do {                                         \
    if (!(cond)) ::vkgraph::fail(__VA_ARGS__); \
  } while (0)

}  // namespace vkgraph
