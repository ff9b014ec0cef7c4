#pragma once
// Downloads one file of a repository into the cache's blobs/ folder, the way every tool that
// shares the cache expects: under the lock .locks/models--ORG--REPO/<etag>.lock, into
// blobs/<etag>.incomplete (resumed with a Range request when a partial file is there, after a
// dropped connection or a Ctrl-C), checked against the Hub's hash as the bytes arrive, and
// renamed to blobs/<etag> only when the hash matches. A mismatch removes the partial file.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "models/hub/hub_api.h"
#include "models/hub/hub_cache.h"
#include "models/hub/hub_config.h"

namespace vkgraph::hub {

struct DownloadProgress {
  std::string file;               // the repository path
  uint64_t done = 0;              // bytes in the partial file (a resumed part included)
  uint64_t total = 0;             // the file's size
  uint64_t resumed_from = 0;      // bytes that were already there when this download started
  bool waiting_for_lock = false;  // another process is downloading the same file
};

// Called while a download runs (at least once a second) and while it waits for the lock;
// returning false stops it (a HubError of kind cancelled; the partial file stays for a resume).
using ProgressFn = std::function<bool(const DownloadProgress&)>;

// Fetches `file` of `repo` from `url` into the cache unless its blob is there; returns the bytes
// transferred (0 when the blob was there or another process fetched it meanwhile).
uint64_t download_blob(const HubCache& cache, const HubConfig& config, const std::string& repo, const RepoFile& file,
                       const std::string& url, const ProgressFn& progress);

// Whether the blob is in place with the expected size.
bool blob_present(const HubCache& cache, const std::string& repo, const RepoFile& file);

// Throws a HubError (disk) when the file system holding `dir` has less than `needed` bytes free.
void check_free_space(const std::filesystem::path& dir, uint64_t needed, const std::string& what);

}  // namespace vkgraph::hub
