#include "cli/download_progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace vkgraph::cli {
namespace {

// The speed is measured over the last few seconds, so it follows the link as it is now and
// the time left does not jump with every packet.
constexpr std::chrono::seconds kSpeedWindow{5};
// Redraws at most ten times a second: smooth to the eye, nothing for the terminal.
constexpr std::chrono::milliseconds kRedrawInterval{100};

}  // namespace

std::string format_bytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < (uint64_t(1) << 20)) return fmt::format("{:.1f} KiB", double(bytes) / 1024);
  if (bytes < (uint64_t(1) << 30)) return fmt::format("{:.1f} MiB", double(bytes) / (1 << 20));
  return fmt::format("{:.2f} GiB", double(bytes) / (uint64_t(1) << 30));
}

std::string format_duration(double seconds) {
  const auto s = uint64_t(seconds + 0.5);
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
}

DownloadProgressView::DownloadProgressView() : terminal_(isatty(STDERR_FILENO) != 0) {}

DownloadProgressView::~DownloadProgressView() { finish(); }

void DownloadProgressView::update(const hub::DownloadProgress& p) {
  if (!terminal_) return;
  const auto now = std::chrono::steady_clock::now();
  if (p.file != file_) {  // a new file (the next part of a split model): a new line
    finish();
    file_ = p.file;
    samples_.clear();
    told_waiting_ = false;
  }
  if (p.waiting_for_lock) {
    if (!told_waiting_) {
      std::fprintf(stderr, "\r\033[K%s: waiting for another download of the same file", p.file.c_str());
      std::fflush(stderr);
      shown_ = told_waiting_ = true;
    }
    return;
  }
  samples_.push_back({now, p.done});
  while (samples_.size() > 2 && now - samples_.front().when > kSpeedWindow) samples_.pop_front();
  if (shown_ && now - last_draw_ < kRedrawInterval && p.done < p.total) return;
  last_draw_ = now;

  const double seconds = std::chrono::duration<double>(now - samples_.front().when).count();
  const double speed = seconds > 0.2 ? double(p.done - samples_.front().bytes) / seconds : 0.0;
  constexpr int kWidth = 20;
  const int percent = p.total > 0 ? int(p.done * 100 / p.total) : 100;
  const int filled = percent * kWidth / 100;
  std::string bar(size_t(filled), '#');
  bar.append(size_t(kWidth - filled), '.');
  std::string rate = "";
  if (speed > 0) {
    rate = fmt::format("  {}/s", format_bytes(uint64_t(speed)));
    if (p.done < p.total) rate += fmt::format("  {} left", format_duration(double(p.total - p.done) / speed));
  }
  std::fprintf(stderr, "\r\033[K%s [%s] %3d%%  %s/%s%s", p.file.c_str(), bar.c_str(), percent,
               format_bytes(p.done).c_str(), format_bytes(p.total).c_str(), rate.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void DownloadProgressView::finish() {
  if (terminal_ && shown_) {
    std::fputs("\n", stderr);
    std::fflush(stderr);
  }
  shown_ = false;
}

}  // namespace vkgraph::cli
