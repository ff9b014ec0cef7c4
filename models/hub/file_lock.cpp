#include "models/hub/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "models/hub/hub_error.h"

namespace vkgraph::hub {

FileLock::FileLock(const std::filesystem::path& path, const std::function<void()>& on_wait,
                   const std::function<bool()>& keep_waiting) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    hub_fail(HubErrorKind::disk, "cannot create the lock file {}: {}", path.string(), std::strerror(errno));
  }
  bool told = false;
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK) {
      ::close(fd_);
      hub_fail(HubErrorKind::disk, "cannot lock {}: {}", path.string(), std::strerror(err));
    }
    if (!told && on_wait) on_wait();
    told = true;
    if (keep_waiting && !keep_waiting()) {
      ::close(fd_);
      hub_fail(HubErrorKind::cancelled, "stopped while waiting for another download of the same file (lock {})",
               path.string());
    }
    // 100 ms: short enough that a waiting pull starts right after the other ends, long
    // enough to cost nothing while it waits.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

}  // namespace vkgraph::hub
