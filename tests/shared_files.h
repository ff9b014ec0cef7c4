#pragma once
// Test data from ../shared (test models, llama.cpp's reference outputs). A test that needs a
// file fails with a message naming it when the folder is absent, never silently passes.

#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <string>

namespace vkgraph::testing {

inline std::string shared_file(const std::string& relative) {
  const std::filesystem::path path = std::filesystem::path(VKGRAPH_SHARED_DIR) / relative;
  if (!std::filesystem::is_regular_file(path)) {
    FAIL("missing test data file " << path.lexically_normal().string()
                                   << ": the tests need ../shared (test models and references) beside the project");
  }
  return path.lexically_normal().string();
}

}  // namespace vkgraph::testing
