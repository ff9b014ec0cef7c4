#pragma once
// Helpers of the GGUF and tokenizer tests: shared_file() (from shared_files.h: a missing file in
// ../shared fails the test naming it) and a scratch directory for generated files.

#include <catch2/catch_test_macros.hpp>

#include "tests/shared_files.h"

#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace vkgraph::testing {

// A fresh, empty directory for a test's generated files, removed at scope exit: in /dev/shm when
// there is one (the hostile-file tests write thousands of small files), else the temp directory.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view name) {
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    // The pid keeps test cases that ctest runs at the same time out of each other's way.
    path_ = base / ("vkgraph-test-" + std::string(name) + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::filesystem::path operator/(std::string_view file) const { return path_ / file; }

 private:
  std::filesystem::path path_;
};

}  // namespace vkgraph::testing
