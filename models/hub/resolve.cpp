#include "models/hub/resolve.h"

#include <algorithm>
#include <optional>

#include "engine/core/log.h"
#include "models/gguf/gguf_split.h"
#include "models/hub/hub_api.h"
#include "models/hub/hub_cache.h"
#include "models/hub/hub_error.h"
#include "models/hub/quant_choice.h"

namespace fs = std::filesystem;

namespace vkgraph::hub {
namespace {

// How much of the quant rule a list of files can decide.
enum class FileList {
  full,     // the repository's whole listing: the full rule
  cached,   // what the cache holds, when asking the Hub is the alternative: only a choice the full
            // listing would make too (a named file or quant, or the first default quant)
  offline,  // what the cache holds, with nothing else to ask: the full rule over it
};

// The file `name` means among `files`: the named one (a later part of a split model means its
// first part), or the quant rule's choice.
std::optional<std::string> pick(const ModelName& name, const std::vector<std::string>& files, FileList list) {
  if (name.file.empty()) {
    if (list == FileList::cached && name.quant.empty()) return choose_model_file(files, kDefaultQuants[0], false);
    return choose_model_file(files, name.quant, list != FileList::cached);
  }
  if (std::find(files.begin(), files.end(), name.file) == files.end()) return std::nullopt;
  if (const auto split = gguf::parse_split_name(name.file); split && split->part != 1) {
    return gguf::split_part_name(split->prefix, 1, split->count);
  }
  return name.file;
}

std::string join(const std::vector<std::string>& items, size_t at_most = 20) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < at_most; ++i) out += (i == 0 ? "" : ", ") + items[i];
  if (items.size() > at_most) out += fmt::format(", ... ({} in all)", items.size());
  return out;
}

std::vector<std::string> gguf_files(const std::vector<std::string>& files) {
  std::vector<std::string> out;
  for (const std::string& f : files) {
    if (f.ends_with(".gguf")) out.push_back(f);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Why `name` is not among `files`, and what is there instead.
std::string what_is_there(const ModelName& name, const std::vector<std::string>& files) {
  if (!name.file.empty()) {
    const auto ggufs = gguf_files(files);
    return ggufs.empty() ? "it holds no GGUF file" : "its GGUF files: " + join(ggufs);
  }
  const auto quants = available_quants(files);
  if (quants.empty()) {
    std::vector<std::string> all = files;
    std::sort(all.begin(), all.end());
    return "it holds no GGUF model file (its files: " + join(all, 10) + ")";
  }
  return fmt::format("quants there: {} (e.g. -hf {}:{})", join(quants), name.repo, quants.front());
}

std::optional<ResolvedModel> from_cache(const ModelName& name, const HubCache& cache, FileList list) {
  const std::optional<std::string> commit = cache.read_ref(name.repo);
  if (!commit) return std::nullopt;
  const std::vector<std::string> files = cache.snapshot_files(name.repo, *commit);
  const std::optional<std::string> chosen = pick(name, files, list);
  if (!chosen) return std::nullopt;
  ResolvedModel r;
  try {
    r.files = split_parts(files, *chosen);
  } catch (const HubError&) {
    return std::nullopt;  // a split model with parts missing from the cache: not usable from it
  }
  r.repo = name.repo;
  r.commit = *commit;
  r.path = cache.snapshot_path(name.repo, *commit, r.files.front()).string();
  for (const std::string& f : r.files) {
    std::error_code ec;
    r.size_bytes += fs::file_size(cache.snapshot_path(name.repo, *commit, f), ec);
  }
  r.from_cache_only = true;
  return r;
}

[[noreturn]] void fail_offline(const ModelName& name, const HubCache& cache) {
  const std::optional<std::string> commit = cache.read_ref(name.repo);
  const std::vector<std::string> files = commit ? cache.snapshot_files(name.repo, *commit) : std::vector<std::string>{};
  const std::string cached =
      files.empty() ? fmt::format("nothing of {} is cached", name.repo) : "in the cache, " + what_is_there(name, files);
  hub_fail(HubErrorKind::not_found,
           "offline (HF_HUB_OFFLINE is set), and the cache {} has no {}; {}. Download it once with the network on "
           "(without HF_HUB_OFFLINE)",
           cache.root().string(), name.text(), cached);
}

}  // namespace

ResolvedModel resolve_model(const ModelName& name, const HubConfig& config, const ResolveOptions& options) {
  const HubCache cache(config.cache_dir);
  if (config.offline) {
    if (auto cached = from_cache(name, cache, FileList::offline)) {
      log::info("offline: {} is {} from the cache", name.text(), cached->path);
      return *cached;
    }
    fail_offline(name, cache);
  }
  if (!options.refresh) {
    if (auto cached = from_cache(name, cache, FileList::cached)) {
      log::info("{} is in the cache: {}", name.text(), cached->path);
      return *cached;
    }
  }

  RepoListing listing;
  try {
    listing = fetch_listing(name.repo, config, options.keep_going);
  } catch (const HubError& e) {
    // No network (or a Hub in trouble): what the cache holds still runs, with the full rule,
    // as it would offline; the warning says why no newer file was looked for.
    if (e.kind() != HubErrorKind::network) throw;
    auto cached = from_cache(name, cache, FileList::offline);
    if (!cached) throw;
    log::warn("{}; using {} from the cache", e.what(), cached->path);
    return *cached;
  }
  const std::vector<std::string> paths = listing.paths();
  const std::optional<std::string> chosen = pick(name, paths, FileList::full);
  if (!chosen) {
    if (!name.file.empty()) {
      hub_fail(HubErrorKind::not_found, "{} has no file {} (at commit {}); {}", name.repo, name.file,
               listing.commit.substr(0, 7), what_is_there(name, paths));
    }
    if (!name.quant.empty()) {
      hub_fail(HubErrorKind::not_found, "{} has no GGUF file of quant {} (at commit {}); {}", name.repo, name.quant,
               listing.commit.substr(0, 7), what_is_there(name, paths));
    }
    hub_fail(HubErrorKind::not_found, "{} (at commit {}): {}", name.repo, listing.commit.substr(0, 7),
             what_is_there(name, paths));
  }

  ResolvedModel r;
  r.repo = name.repo;
  r.commit = listing.commit;
  r.files = split_parts(paths, *chosen);
  std::vector<const RepoFile*> files;
  uint64_t missing = 0;
  for (const std::string& f : r.files) {
    const RepoFile& file = listing.file(f);
    files.push_back(&file);
    r.size_bytes += file.size;
    if (file.etag.empty()) {
      hub_fail(HubErrorKind::network, "the Hub gives no hash for {} in {}: it cannot be checked, so it is not fetched",
               f, name.repo);
    }
    if (!blob_present(cache, name.repo, file)) {
      std::error_code ec;
      const uint64_t partial = fs::file_size(cache.incomplete_path(name.repo, file.etag), ec);
      missing += file.size - (ec || partial > file.size ? 0 : partial);
    }
  }
  // All parts are checked against the free space before the first byte, so a split model
  // does not fill the disk with parts that can never make a whole.
  if (missing > 0) {
    const fs::path blobs = cache.repo_dir(name.repo) / "blobs";
    std::error_code ec;
    fs::create_directories(blobs, ec);
    if (ec) hub_fail(HubErrorKind::disk, "cannot create the cache folder {}: {}", blobs.string(), ec.message());
    check_free_space(blobs, missing, name.text());
  }
  const ProgressFn report = [&options](const DownloadProgress& p) {
    if (options.keep_going && !options.keep_going()) return false;
    return !options.progress || options.progress(p);
  };
  for (const RepoFile* file : files) {
    r.downloaded_bytes +=
        download_blob(cache, config, name.repo, *file, file_url(config, name.repo, listing.commit, file->path), report);
    cache.link_snapshot(name.repo, listing.commit, file->path, file->etag);
  }
  cache.write_ref(name.repo, listing.commit);
  r.path = cache.snapshot_path(name.repo, listing.commit, r.files.front()).string();
  return r;
}

}  // namespace vkgraph::hub
