#include "models/hub/blob_download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "engine/core/log.h"
#include "models/hub/content_digest.h"
#include "models/hub/file_lock.h"
#include "models/hub/hub_error.h"

namespace fs = std::filesystem;

namespace vkgraph::hub {
namespace {

// Attempts in a row that bring no new byte before the download gives up. An attempt that made
// progress resets the count, so a long download survives any number of dropped connections.
constexpr int kMaxAttemptsWithoutProgress = 5;

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", double(bytes) / (1 << 20)); }

// The partial file, open for appending, with the hash of what it holds.
class PartialFile {
 public:
  PartialFile(fs::path path, DigestKind kind, uint64_t size) : path_(std::move(path)), kind_(kind), size_(size) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) hub_fail(HubErrorKind::disk, "cannot open {}: {}", path_.string(), std::strerror(errno));
    struct stat st {};
    ::fstat(fd_, &st);
    have_ = S_ISREG(st.st_mode) ? uint64_t(st.st_size) : 0;
    if (have_ > size_) {
      log::warn("{} holds {} bytes, more than the file's {}: starting over", path_.string(), have_, size_);
      restart();
    } else {
      hash_existing();
    }
  }
  ~PartialFile() { close_fd(); }

  uint64_t have() const { return have_; }

  void restart() {
    if (::ftruncate(fd_, 0) != 0 && errno != EINVAL) {
      hub_fail(HubErrorKind::disk, "cannot truncate {}: {}", path_.string(), std::strerror(errno));
    }
    have_ = 0;
    digest_ = std::make_unique<ContentDigest>(kind_, size_);
  }

  // Appends; on a write failure returns false and keeps the reason for error().
  bool append(const char* data, size_t bytes) {
    if (have_ + bytes > size_) {
      overflow_ = true;
      return false;
    }
    if (::lseek(fd_, off_t(have_), SEEK_SET) < 0 && errno != ESPIPE) return fail_write(errno);
    size_t written = 0;
    while (written < bytes) {
      const ssize_t n = ::write(fd_, data + written, bytes - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail_write(errno);
      }
      written += size_t(n);
    }
    digest_->update(data, bytes);
    have_ += bytes;
    return true;
  }

  int write_errno() const { return write_errno_; }
  bool overflowed() const { return overflow_; }

  // Flushes to disk and closes; returns the hex digest of the whole content.
  std::string finish() {
    ::fsync(fd_);  // the rename that follows must not publish a file whose bytes are still in flight
    close_fd();
    return digest_->hex();
  }

  void remove() {
    close_fd();
    std::error_code ec;
    fs::remove(path_, ec);
  }

 private:
  void hash_existing() {
    digest_ = std::make_unique<ContentDigest>(kind_, size_);
    std::vector<char> buffer(1 << 20);
    uint64_t at = 0;
    while (at < have_) {
      const ssize_t n = ::pread(fd_, buffer.data(), std::min<uint64_t>(buffer.size(), have_ - at), off_t(at));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        log::warn("{}: cannot read the partial download back ({}); starting over", path_.string(),
                  n < 0 ? std::strerror(errno) : "it shrank");
        restart();
        return;
      }
      digest_->update(buffer.data(), size_t(n));
      at += uint64_t(n);
    }
  }
  bool fail_write(int err) {
    write_errno_ = err;
    return false;
  }
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  fs::path path_;
  DigestKind kind_;
  uint64_t size_;
  int fd_ = -1;
  uint64_t have_ = 0;
  std::unique_ptr<ContentDigest> digest_;
  int write_errno_ = 0;
  bool overflow_ = false;
};

// Sleeps up to `seconds` in short steps, asking `keep_going` between them.
bool wait_before_retry(double seconds, const std::function<bool()>& keep_going) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (!keep_going()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return keep_going();
}

}  // namespace

void check_free_space(const fs::path& dir, uint64_t needed, const std::string& what) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return;  // unknown: the writes will tell
  const uint64_t available = uint64_t(st.f_bavail) * uint64_t(st.f_frsize);
  if (available < needed) {
    hub_fail(HubErrorKind::disk,
             "not enough disk space for {}: it needs {} more in {}, and {} are free (free some space, or set "
             "HF_HUB_CACHE to a folder on a larger disk)",
             what, mib(needed), dir.string(), mib(available));
  }
}

bool blob_present(const HubCache& cache, const std::string& repo, const RepoFile& file) {
  std::error_code ec;
  const fs::path blob = cache.blob_path(repo, file.etag);
  return fs::is_regular_file(blob, ec) && fs::file_size(blob, ec) == file.size && !ec;
}

uint64_t download_blob(const HubCache& cache, const HubConfig& config, const std::string& repo, const RepoFile& file,
                       const std::string& url, const ProgressFn& progress) {
  if (file.etag.empty()) {
    hub_fail(HubErrorKind::network, "the Hub gives no hash for {} in {}: it cannot be checked, so it is not fetched",
             file.path, repo);
  }
  const DigestKind kind = digest_kind_of_etag(file.etag);
  if (blob_present(cache, repo, file)) return 0;

  DownloadProgress p;
  p.file = file.path;
  p.total = file.size;
  const auto report = [&] { return !progress || progress(p); };
  const FileLock lock(
      cache.lock_path(repo, file.etag), [&] { p.waiting_for_lock = true; }, report);
  p.waiting_for_lock = false;
  const fs::path blob = cache.blob_path(repo, file.etag);
  if (blob_present(cache, repo, file)) return 0;  // the process we waited for fetched it
  std::error_code ec;
  if (fs::exists(blob, ec)) {
    log::warn("{} has the wrong size for {}; fetching it again", blob.string(), file.path);
    fs::remove(blob, ec);
  }

  fs::create_directories(blob.parent_path(), ec);
  const fs::path partial_path = cache.incomplete_path(repo, file.etag);
  PartialFile partial(partial_path, kind, file.size);
  p.done = p.resumed_from = partial.have();
  check_free_space(blob.parent_path(), file.size - partial.have(), repo + "/" + file.path);
  if (partial.have() > 0) log::info("{}: resuming at {} of {} bytes", file.path, partial.have(), file.size);

  uint64_t transferred = 0;
  int attempts_without_progress = 0;
  while (partial.have() < file.size) {
    const uint64_t before = partial.have();
    uint64_t unexpected_start = 0;
    HttpRequest request;
    request.url = url;
    request.headers = hub_headers(config);
    request.range_start = partial.have();
    request.on_start = [&](long, uint64_t start) {
      if (start == partial.have()) return true;
      if (start == 0) {  // the server ignored the Range header and sends everything: start over
        partial.restart();
        p.done = 0;
        return true;
      }
      unexpected_start = start;
      return false;
    };
    request.on_body = [&](const char* data, size_t bytes) {
      if (!partial.append(data, bytes)) return false;
      transferred += bytes;
      p.done = partial.have();
      return true;
    };
    request.keep_going = report;
    const HttpResult result = http_get(request);

    using Outcome = HttpResult::Outcome;
    switch (result.outcome) {
      case Outcome::complete:
        if (result.status < 200 || result.status >= 300) {
          fail_for_status(result, config, repo, file.path, url);
        }
        break;  // a 2xx that ended short is retried below like a broken-off one
      case Outcome::unreachable:
        fail_unreachable(result, config, url);
      case Outcome::cancelled:
        hub_fail(HubErrorKind::cancelled,
                 "stopped: {} of {} bytes of {} are kept in {}; run the same command again to resume", partial.have(),
                 file.size, file.path, partial_path.string());
      case Outcome::sink_failed:
        if (partial.overflowed()) {
          partial.remove();
          hub_fail(HubErrorKind::integrity,
                   "{} sent more than the {} bytes the Hub lists for {}; the partial file was removed", url, file.size,
                   file.path);
        }
        if (const int err = partial.write_errno(); err != 0) {
          if (err == ENOSPC || err == EDQUOT) {
            hub_fail(HubErrorKind::disk,
                     "the disk is full ({}): {} of {} bytes of {} are kept in {}; free some space and run the same "
                     "command again to resume",
                     std::strerror(err), partial.have(), file.size, file.path, partial_path.string());
          }
          hub_fail(HubErrorKind::disk, "cannot write {}: {}", partial_path.string(), std::strerror(err));
        }
        hub_fail(HubErrorKind::network, "{} answered a resume at byte {} with bytes from {}", url, before,
                 unexpected_start);
      case Outcome::broken_off:
        break;
    }
    if (partial.have() >= file.size) break;
    attempts_without_progress = partial.have() > before ? 0 : attempts_without_progress + 1;
    if (attempts_without_progress >= kMaxAttemptsWithoutProgress) {
      hub_fail(HubErrorKind::network,
               "the download of {} broke off {} times in a row ({}); {} of {} bytes are kept in {}: run the same "
               "command again to resume",
               file.path, attempts_without_progress, result.error.empty() ? "the answer ended early" : result.error,
               partial.have(), file.size, partial_path.string());
    }
    // Right away after a drop that brought bytes; then 1, 2, 4, 8 s while nothing comes.
    const double delay = attempts_without_progress == 0 ? 0.0 : double(1 << (attempts_without_progress - 1));
    log::info("{}: the connection broke off at {} of {} bytes ({}); resuming in {:.0f} s", file.path, partial.have(),
              file.size, result.error.empty() ? "the answer ended early" : result.error, delay);
    if (!wait_before_retry(delay, report)) {
      hub_fail(HubErrorKind::cancelled,
               "stopped: {} of {} bytes of {} are kept in {}; run the same command again to resume", partial.have(),
               file.size, file.path, partial_path.string());
    }
  }

  const std::string got = partial.finish();
  if (got != file.etag) {
    partial.remove();
    hub_fail(HubErrorKind::integrity,
             "checksum mismatch for {} of {}: the Hub lists {} {}, the {} bytes received hash to {}; the partial file "
             "was removed (run again to download it anew)",
             file.path, repo, kind == DigestKind::sha256 ? "SHA-256" : "Git blob id", file.etag, file.size, got);
  }
  fs::rename(partial_path, blob, ec);
  if (ec) hub_fail(HubErrorKind::disk, "cannot move {} into place: {}", partial_path.string(), ec.message());
  return transferred;
}

}  // namespace vkgraph::hub
