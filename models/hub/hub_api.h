#pragma once
// What the Hub says about a repository: the commit `main` points at and every file with its
// size and content hash, from one call of its API:
//   GET {endpoint}/api/models/{ORG/REPO}/revision/main?blobs=true
//   -> {"sha": commit, "siblings": [{"rfilename", "size", "blobId", "lfs": {"sha256", "size"}}]}
// and how to download one of them: GET {endpoint}/{ORG/REPO}/resolve/{commit}/{PATH}.
// Errors become HubErrors whose messages say what to do; the Hub's X-Error-Code header tells a
// missing repository (RepoNotFound) from a gated one (GatedRepo).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/hub/http_client.h"
#include "models/hub/hub_config.h"

namespace vkgraph::hub {

struct RepoFile {
  std::string path;  // inside the repository
  uint64_t size = 0;
  std::string etag;  // what the cache names its blob by: lfs.sha256, else blobId
};

struct RepoListing {
  std::string repo;
  std::string commit;
  std::vector<RepoFile> files;
  std::vector<std::string> paths() const;
  const RepoFile& file(const std::string& path) const;  // throws when absent
};

// `keep_going` (may be empty) is asked while the request runs; false stops it (a HubError of
// kind cancelled).
RepoListing fetch_listing(const std::string& repo, const HubConfig& config,
                          const std::function<bool()>& keep_going = {});

// The URL a file of a commit downloads from.
std::string file_url(const HubConfig& config, const std::string& repo, const std::string& commit,
                     const std::string& path);

// The headers every request to the Hub carries (the token, when there is one).
std::vector<std::string> hub_headers(const HubConfig& config);

// Throws the HubError an answer other than 2xx means, for a request about `what` (a repository
// or one of its files). `result.outcome` must be complete.
[[noreturn]] void fail_for_status(const HttpResult& result, const HubConfig& config, const std::string& repo,
                                  const std::string& what, const std::string& url);

// Throws the HubError (network) for a request that got no answer.
[[noreturn]] void fail_unreachable(const HttpResult& result, const HubConfig& config, const std::string& url);

}  // namespace vkgraph::hub
