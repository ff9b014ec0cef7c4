#include "cli/progress_bar.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace vkgraph::cli {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), terminal_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {
  if (!terminal_) std::fprintf(stderr, "%s...\n", label_.c_str());
}

ProgressBar::~ProgressBar() {
  if (!finished_ && terminal_) std::fputs("\n", stderr);  // leave the line if it was abandoned
}

void ProgressBar::update(size_t done, size_t total, const std::string& detail) {
  if (!terminal_ || total == 0) return;
  const int percent = int(done * 100 / total);
  if (percent == last_percent_) return;  // redraw only when something visible changes
  last_percent_ = percent;
  constexpr int width = 30;
  const int filled = percent * width / 100;
  std::string bar(size_t(filled), '#');
  bar.append(size_t(width - filled), '.');
  std::fprintf(stderr, "\r\033[K%s [%s] %3d%% %s", label_.c_str(), bar.c_str(), percent, detail.c_str());
  std::fflush(stderr);
}

void ProgressBar::finish(const std::string& detail) {
  if (finished_) return;
  finished_ = true;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (terminal_) {
    std::fprintf(stderr, "\r\033[K%s: done in %.2f s %s\n", label_.c_str(), seconds, detail.c_str());
  } else {
    std::fprintf(stderr, "%s: done in %.2f s %s\n", label_.c_str(), seconds, detail.c_str());
  }
}

}  // namespace vkgraph::cli
