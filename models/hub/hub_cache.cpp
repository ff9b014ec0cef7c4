#include "models/hub/hub_cache.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "engine/core/log.h"
#include "models/hub/hub_error.h"
#include "models/hub/model_name.h"

namespace fs = std::filesystem;

namespace vkgraph::hub {
namespace {

bool is_commit(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A name no other writer in the same folder picks at the same moment.
fs::path temporary_beside(const fs::path& path) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return path.parent_path() / fmt::format(".{}.{}.{:x}.tmp", path.filename().string(), getpid(), random());
}

void make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) hub_fail(HubErrorKind::disk, "cannot create the cache folder {}: {}", dir.string(), ec.message());
}

}  // namespace

void write_file_atomically(const fs::path& path, const std::string& text) {
  make_dirs(path.parent_path());
  const fs::path tmp = temporary_beside(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      hub_fail(HubErrorKind::disk, "cannot write {} (is the disk full?)", path.string());
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    hub_fail(HubErrorKind::disk, "cannot write {}: {}", path.string(), ec.message());
  }
}

std::string HubCache::repo_folder(const std::string& repo) {
  std::string folder = "models--" + repo;
  const size_t slash = folder.find('/');
  if (slash != std::string::npos) folder.replace(slash, 1, "--");
  return folder;
}

fs::path HubCache::repo_dir(const std::string& repo) const { return root_ / repo_folder(repo); }

fs::path HubCache::blob_path(const std::string& repo, const std::string& etag) const {
  return repo_dir(repo) / "blobs" / etag;
}

fs::path HubCache::incomplete_path(const std::string& repo, const std::string& etag) const {
  return repo_dir(repo) / "blobs" / (etag + ".incomplete");
}

fs::path HubCache::lock_path(const std::string& repo, const std::string& etag) const {
  return root_ / ".locks" / repo_folder(repo) / (etag + ".lock");
}

fs::path HubCache::snapshot_path(const std::string& repo, const std::string& commit, const std::string& file) const {
  return repo_dir(repo) / "snapshots" / commit / file;
}

std::optional<std::string> HubCache::read_ref(const std::string& repo, const std::string& ref) const {
  std::ifstream in(repo_dir(repo) / "refs" / ref);
  if (!in) return std::nullopt;
  std::string commit;
  in >> commit;  // huggingface_hub writes the hash alone; others may add a newline
  if (!is_commit(commit)) {
    log::warn("{}: not a commit hash ('{}'); ignoring this cache entry", (repo_dir(repo) / "refs" / ref).string(),
              commit);
    return std::nullopt;
  }
  return commit;
}

void HubCache::write_ref(const std::string& repo, const std::string& commit, const std::string& ref) const {
  write_file_atomically(repo_dir(repo) / "refs" / ref, commit);
}

void HubCache::link_snapshot(const std::string& repo, const std::string& commit, const std::string& file,
                             const std::string& etag) const {
  const fs::path link = snapshot_path(repo, commit, file);
  const fs::path blob = blob_path(repo, etag);
  make_dirs(link.parent_path());
  // Both paths start at the same root, so the relative path is found lexically (no link in the
  // root is resolved): ../../blobs/<etag>, one more ../ per folder of `file`.
  const fs::path target = blob.lexically_relative(link.parent_path());
  const fs::path tmp = temporary_beside(link);
  std::error_code ec;
  fs::create_symlink(target, tmp, ec);
  if (ec) {
    log::warn("cannot make a link in {} ({}); using a hard link to the blob", link.parent_path().string(),
              ec.message());
    ec.clear();
    fs::create_hard_link(blob, tmp, ec);
    if (ec) {
      hub_fail(HubErrorKind::disk, "cannot place {} in the cache (neither a link nor a hard link): {}", link.string(),
               ec.message());
    }
  }
  fs::rename(tmp, link, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    hub_fail(HubErrorKind::disk, "cannot place {} in the cache: {}", link.string(), ec.message());
  }
}

std::vector<std::string> HubCache::snapshot_files(const std::string& repo, const std::string& commit) const {
  const fs::path dir = repo_dir(repo) / "snapshots" / commit;
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code stat_ec;
    if (!fs::is_regular_file(it->path(), stat_ec)) continue;  // follows the link: a dangling one is no file
    const std::string relative = it->path().lexically_relative(dir).generic_string();
    if (is_safe_repo_path(relative)) files.push_back(relative);
  }
  return files;
}

}  // namespace vkgraph::hub
