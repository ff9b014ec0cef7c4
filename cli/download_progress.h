#pragma once
// The progress of a download on stderr, on a terminal only (elsewhere it stays quiet): one line
// redrawn in place, with the bar, the bytes, the speed and the time left, e.g.
//   Llama-Q4_K_M.gguf [##########..........]  48%  386.2/804.5 MiB  21.3 MiB/s  20 s left

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

#include "models/hub/blob_download.h"

namespace vkgraph::cli {

class DownloadProgressView {
 public:
  DownloadProgressView();
  ~DownloadProgressView();
  void update(const hub::DownloadProgress& p);
  // Ends the current line (if one is shown).
  void finish();

 private:
  struct Sample {
    std::chrono::steady_clock::time_point when;
    uint64_t bytes;
  };
  bool terminal_;
  bool shown_ = false;
  bool told_waiting_ = false;
  std::string file_;
  std::deque<Sample> samples_;
  std::chrono::steady_clock::time_point last_draw_{};
};

// "804.5 MiB", "12.0 KiB", "512 B".
std::string format_bytes(uint64_t bytes);
// "20 s", "3 min 05 s", "1 h 02 min".
std::string format_duration(double seconds);

}  // namespace vkgraph::cli
