#include "models/hub/hub_api.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "models/hub/content_digest.h"
#include "models/hub/hub_error.h"
#include "models/hub/model_name.h"

namespace vkgraph::hub {
namespace {

// A listing of many thousand files is a few MiB; more than this is not a listing.
constexpr size_t kListingLimit = 256u << 20;

std::string header(const HttpResult& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

// The Hub's words for an error: X-Error-Message, else the "error" of a JSON body.
std::string hub_message(const HttpResult& r) {
  if (std::string m = header(r, "x-error-message"); !m.empty()) return m;
  const auto body = nlohmann::json::parse(r.error_body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) return body["error"].get<std::string>();
  return "";
}

std::string how_to_give_a_token(const HubConfig& config) {
  return fmt::format(
      "create a token at {}/settings/tokens, then set HF_TOKEN=hf_... or save it in {} (`hf auth login` does)",
      config.endpoint, config.token_file);
}

}  // namespace

std::vector<std::string> hub_headers(const HubConfig& config) {
  std::vector<std::string> headers;
  if (!config.token.empty()) headers.push_back("Authorization: Bearer " + config.token);
  return headers;
}

std::string file_url(const HubConfig& config, const std::string& repo, const std::string& commit,
                     const std::string& path) {
  return fmt::format("{}/{}/resolve/{}/{}", config.endpoint, repo, commit, url_encode_path(path));
}

void fail_unreachable(const HttpResult& result, const HubConfig& config, const std::string& url) {
  hub_fail(HubErrorKind::network,
           "cannot reach the Hugging Face Hub at {} ({}) for {}: check the network connection (and any proxy "
           "setting), or set HF_HUB_OFFLINE=1 to use only what the cache ({}) holds",
           config.endpoint, result.error, url, config.cache_dir);
}

void fail_for_status(const HttpResult& result, const HubConfig& config, const std::string& repo,
                     const std::string& what, const std::string& url) {
  const long status = result.status;
  const std::string code = header(result, "x-error-code");
  const std::string message = hub_message(result);
  const std::string said = message.empty() ? "" : ": " + message;
  if (code == "RepoNotFound" || (status == 404 && code.empty() && what == repo)) {
    if (config.token.empty()) {
      hub_fail(HubErrorKind::not_found,
               "repository {} was not found on {} (HTTP {}): check the name; if it is private, {}", repo,
               config.endpoint, status, how_to_give_a_token(config));
    }
    hub_fail(HubErrorKind::not_found,
             "repository {} was not found on {} (HTTP {}): check the name (if it is private, the token from {} has "
             "no access to it)",
             repo, config.endpoint, status, config.token_source);
  }
  if (code == "RevisionNotFound") {
    hub_fail(HubErrorKind::not_found, "repository {} has no branch 'main' on {}{}", repo, config.endpoint, said);
  }
  if (code == "EntryNotFound" || status == 404) {
    hub_fail(HubErrorKind::not_found, "{} was not found in {} on {} (HTTP 404{})", what, repo, config.endpoint, said);
  }
  if (code == "GatedRepo" || status == 401 || status == 403) {
    if (config.token.empty()) {
      hub_fail(HubErrorKind::access,
               "{} is gated (HTTP {}{}): downloading {} needs a Hugging Face token. Accept the model's conditions at "
               "{}/{}, then {}",
               repo, status, said, what, config.endpoint, repo, how_to_give_a_token(config));
    }
    hub_fail(HubErrorKind::access,
             "{} refused the token from {} for {} (HTTP {}{}): accept the model's conditions at {}/{} with the "
             "account the token belongs to, or give another token (HF_TOKEN)",
             config.endpoint, config.token_source, what, status, said, config.endpoint, repo);
  }
  if (status == 429) {
    hub_fail(HubErrorKind::network, "the Hub is limiting requests (HTTP 429{}) for {}: wait a minute and try again",
             said, url);
  }
  hub_fail(HubErrorKind::network, "the Hub answered HTTP {}{} for {}", status, said, url);
}

std::vector<std::string> RepoListing::paths() const {
  std::vector<std::string> out;
  out.reserve(files.size());
  for (const RepoFile& f : files) out.push_back(f.path);
  return out;
}

const RepoFile& RepoListing::file(const std::string& path) const {
  const auto it = std::find_if(files.begin(), files.end(), [&](const RepoFile& f) { return f.path == path; });
  if (it == files.end()) hub_fail(HubErrorKind::not_found, "{} is not in {} at commit {}", path, repo, commit);
  return *it;
}

RepoListing fetch_listing(const std::string& repo, const HubConfig& config, const std::function<bool()>& keep_going) {
  const std::string url = fmt::format("{}/api/models/{}/revision/main?blobs=true", config.endpoint, repo);
  std::string body;
  HttpRequest request;
  request.url = url;
  request.headers = hub_headers(config);
  request.headers.push_back("Accept: application/json");
  request.on_body = [&body](const char* data, size_t bytes) {
    body.append(data, bytes);
    return body.size() <= kListingLimit;
  };
  request.keep_going = keep_going;
  const HttpResult result = http_get(request);
  using Outcome = HttpResult::Outcome;
  if (result.outcome == Outcome::cancelled) {
    hub_fail(HubErrorKind::cancelled, "stopped while asking {} about {}", config.endpoint, repo);
  }
  if (result.outcome == Outcome::unreachable) fail_unreachable(result, config, url);
  if (result.outcome == Outcome::broken_off) {
    hub_fail(HubErrorKind::network, "the connection to {} broke off while reading {} ({})", config.endpoint, url,
             result.error);
  }
  if (result.outcome == Outcome::sink_failed) {
    hub_fail(HubErrorKind::network, "the Hub's listing of {} is larger than {} MiB: not a listing", repo,
             kListingLimit >> 20);
  }
  if (result.status < 200 || result.status >= 300) fail_for_status(result, config, repo, repo, url);

  const auto bad = [&](const std::string& why) -> void {
    hub_fail(HubErrorKind::network, "the Hub's listing of {} ({}) is not what was expected: {}", repo, url, why);
  };
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) bad("not a JSON object");
  RepoListing listing;
  listing.repo = repo;
  if (!json.contains("sha") || !json["sha"].is_string()) bad("no commit ('sha')");
  listing.commit = json["sha"].get<std::string>();
  if (listing.commit.size() != 40 || !is_hex_digest(listing.commit)) bad("the commit '" + listing.commit + "'");
  if (!json.contains("siblings") || !json["siblings"].is_array()) bad("no file list ('siblings')");
  for (const auto& entry : json["siblings"]) {
    if (!entry.is_object() || !entry.contains("rfilename") || !entry["rfilename"].is_string())
      bad("a file without a name");
    RepoFile file;
    file.path = entry["rfilename"].get<std::string>();
    // A path that would leave the snapshot folder is refused, whatever the server says.
    if (!is_safe_repo_path(file.path)) bad("the file name '" + file.path + "'");
    const auto lfs = entry.find("lfs");
    if (lfs != entry.end() && lfs->is_object() && lfs->contains("sha256") && (*lfs)["sha256"].is_string()) {
      file.etag = (*lfs)["sha256"].get<std::string>();
      if (lfs->contains("size") && (*lfs)["size"].is_number_unsigned()) file.size = (*lfs)["size"].get<uint64_t>();
    } else if (entry.contains("blobId") && entry["blobId"].is_string()) {
      file.etag = entry["blobId"].get<std::string>();
    }
    if (file.size == 0 && entry.contains("size") && entry["size"].is_number_unsigned()) {
      file.size = entry["size"].get<uint64_t>();
    }
    // Files without a hash cannot be checked or named in the cache; the ones asked for are
    // refused later by name, the others do not matter.
    if (!file.etag.empty() && !is_hex_digest(file.etag)) bad("the hash '" + file.etag + "' of " + file.path);
    listing.files.push_back(std::move(file));
  }
  return listing;
}

}  // namespace vkgraph::hub
