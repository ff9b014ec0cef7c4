#pragma once
// An environment variable set for as long as the object lives, then restored (or unset when it
// was not set before): tests that turn on a switch read from the environment (VKGRAPH_LIMIT_*,
// VKGRAPH_EMULATE_COOPMAT, VKGRAPH_GPU_TIMEOUT_MS, ...) leave no trace for the next test.

#include <cstdlib>
#include <optional>
#include <string>

namespace vkgraph::test {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) previous_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (previous_) {
      ::setenv(name_, previous_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> previous_;
};

}  // namespace vkgraph::test
