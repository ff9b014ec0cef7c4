#pragma once
// A progress bar on stderr for long waits (model loading, kernel compilation). On a terminal it
// redraws one line in place; elsewhere (a log file, a pipe) it prints one line when a stage
// starts and one when it ends, so logs do not fill with redraws.

#include <chrono>
#include <cstddef>
#include <string>

namespace vkgraph::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  // done out of total (any unit); `detail` is shown after the bar (e.g. "12.3 MiB").
  void update(size_t done, size_t total, const std::string& detail = "");
  void finish(const std::string& detail = "");

 private:
  std::string label_;
  bool terminal_;
  bool finished_ = false;
  int last_percent_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace vkgraph::cli
