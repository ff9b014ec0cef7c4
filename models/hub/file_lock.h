#pragma once
// An exclusive lock on a file, held by one process at a time (flock(2)), so two programs
// pulling the same file take turns instead of writing one partial file together. Python's
// `filelock`, which huggingface_hub uses for the same lock files, takes the same kind of lock.
// Locks are tied to the open file: a process that dies releases its lock.

#include <filesystem>
#include <functional>

namespace vkgraph::hub {

class FileLock {
 public:
  // Creates `path` (and its folder) when absent and locks it, waiting while another process
  // holds it: `on_wait` is called once if it has to wait, `keep_waiting` every 100 ms while it
  // waits (false: give up, throwing a HubError of kind cancelled).
  FileLock(const std::filesystem::path& path, const std::function<void()>& on_wait,
           const std::function<bool()>& keep_waiting);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace vkgraph::hub
