#pragma once
// The Hugging Face hub cache on disk, laid out as huggingface_hub lays it out, so the files it,
// llama.cpp and other tools fetched are found here and ours are found by them:
//
//   <cache>/models--ORG--REPO/refs/main               the commit `main` pointed at (40 hex digits)
//   <cache>/models--ORG--REPO/blobs/<etag>            file contents, named by their ETag (SHA-256
//                                                     for LFS files, the Git blob id otherwise)
//   <cache>/models--ORG--REPO/blobs/<etag>.incomplete a download in progress (resumable)
//   <cache>/models--ORG--REPO/snapshots/<commit>/PATH a relative link to ../../blobs/<etag>
//   <cache>/.locks/models--ORG--REPO/<etag>.lock      taken while the blob is downloaded

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vkgraph::hub {

class HubCache {
 public:
  explicit HubCache(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }

  // "models--ORG--REPO".
  static std::string repo_folder(const std::string& repo);

  std::filesystem::path repo_dir(const std::string& repo) const;
  std::filesystem::path blob_path(const std::string& repo, const std::string& etag) const;
  std::filesystem::path incomplete_path(const std::string& repo, const std::string& etag) const;
  std::filesystem::path lock_path(const std::string& repo, const std::string& etag) const;
  std::filesystem::path snapshot_path(const std::string& repo, const std::string& commit,
                                      const std::string& file) const;

  // The commit refs/<ref> names, when the file holds one (40 hex digits).
  std::optional<std::string> read_ref(const std::string& repo, const std::string& ref = "main") const;
  // Writes refs/<ref> whole or not at all (a temporary file renamed over it).
  void write_ref(const std::string& repo, const std::string& commit, const std::string& ref = "main") const;

  // Points snapshots/<commit>/<file> at blobs/<etag> with a relative link, replacing what was
  // there in one step. Where the file system has no links it makes a hard link instead.
  void link_snapshot(const std::string& repo, const std::string& commit, const std::string& file,
                     const std::string& etag) const;

  // The files of snapshots/<commit> whose content is there (links that lead to a file, or plain
  // files), as repository paths.
  std::vector<std::string> snapshot_files(const std::string& repo, const std::string& commit) const;

 private:
  std::filesystem::path root_;
};

// Writes `text` to `path` through a temporary file in the same folder and a rename, so readers
// see the old content or the new, never a part.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace vkgraph::hub
