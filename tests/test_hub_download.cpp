// -hf against a fake Hub on loopback (tests/fake_hub.py): which file a name picks, the cache
// layout other tools read, no request when the cache has the file, resumed and checked
// downloads, and an error that says what to do for every way it can fail.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fake_hub.h"
#include "models/hub/content_digest.h"
#include "models/hub/hub_cache.h"
#include "models/hub/hub_error.h"
#include "models/hub/resolve.h"

using namespace vkgraph;
using namespace vkgraph::hub;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

ResolvedModel resolve(const std::string& name, const HubConfig& config, const ResolveOptions& options = {}) {
  return resolve_model(parse_model_name(name), config, options);
}

// The error resolving `name` gives; FAILs when it succeeds.
HubError resolve_error(const std::string& name, const HubConfig& config, const ResolveOptions& options = {}) {
  try {
    resolve(name, config, options);
  } catch (const HubError& e) {
    return e;
  }
  FAIL(name << " resolved without an error");
  return HubError(HubErrorKind::network, "");
}

std::string sha256_of_shared(const std::string& model) { return sha256_file(testing::shared_file(model)); }

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kQ8 = "test-org/tiny-GGUF/tiny-Q8_0.gguf";

}  // namespace

TEST_CASE("ORG/REPO:QUANT fetches the file carrying the quant into the Hub's cache layout", "[hub][download]") {
  const testing::FakeRepos repos;
  const testing::FakeHub server(repos);
  const testing::TempDir home;
  const HubConfig config = server.config(home.path());

  const ResolvedModel r = resolve("test-org/tiny-GGUF:q8_0", config);
  CHECK(r.files == std::vector<std::string>{"tiny-Q8_0.gguf"});
  const std::string sha = sha256_of_shared("models/tiny-gqa-q8_0.gguf");
  CHECK(sha256_file(r.path) == sha);
  CHECK(r.downloaded_bytes == fs::file_size(testing::shared_file("models/tiny-gqa-q8_0.gguf")));
  CHECK_FALSE(r.from_cache_only);

  // The listing, the resolve URL (which redirects) and the redirected download: nothing else.
  const auto requests = server.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0]["path"] == "/api/models/test-org/tiny-GGUF/revision/main");
  CHECK(requests[1]["path"] == "/test-org/tiny-GGUF/resolve/" + r.commit + "/tiny-Q8_0.gguf");
  CHECK(requests[2]["path"] == "/cdn/" + sha);

  const fs::path repo = fs::path(config.cache_dir) / "models--test-org--tiny-GGUF";
  CHECK(r.path == (repo / "snapshots" / r.commit / "tiny-Q8_0.gguf").string());
  CHECK(fs::is_symlink(r.path));
  CHECK(fs::read_symlink(r.path) == fs::path("../../blobs") / sha);
  CHECK(read_text(repo / "refs" / "main") == r.commit);
  CHECK(fs::exists(fs::path(config.cache_dir) / ".locks" / "models--test-org--tiny-GGUF" / (sha + ".lock")));
  CHECK_FALSE(fs::exists(repo / "blobs" / (sha + ".incomplete")));
}

TEST_CASE("A name without a quant takes Q4_K_M, else the first model file (a split model whole)", "[hub][download]") {
  const testing::FakeRepos repos;
  const testing::FakeHub server(repos);
  const testing::TempDir home;
  const HubConfig config = server.config(home.path());

  // mmproj-tiny-Q4_K_M.gguf sorts first and carries the quant too: a projector is never the model.
  const ResolvedModel tiny = resolve("test-org/tiny-GGUF", config);
  CHECK(tiny.files == std::vector<std::string>{"tiny-Q4_K_M.gguf"});
  CHECK(sha256_file(tiny.path) == sha256_of_shared("models/tiny-k-q4_k_m.gguf"));

  // Neither Q4_K_M nor Q8_0 there: the first model file, a split model, comes with every part.
  const ResolvedModel stories = resolve("test-org/stories-GGUF", config);
  CHECK(stories.files ==
        std::vector<std::string>{"stories260K-F32-00001-of-00002.gguf", "stories260K-F32-00002-of-00002.gguf"});
  CHECK(fs::path(stories.path).filename() == "stories260K-F32-00001-of-00002.gguf");
  for (const std::string& part : stories.files) {
    CHECK(fs::is_regular_file(fs::path(stories.path).parent_path() / part));
    CHECK(sha256_file((fs::path(stories.path).parent_path() / part).string()) ==
          sha256_file((repos.root() / "test-org/stories-GGUF" / part).string()));
  }
}

TEST_CASE("A quant, file or repository that is not there is named, with what is there", "[hub][download]") {
  const testing::FakeRepos repos;
  const testing::FakeHub server(repos);
  const testing::TempDir home;
  const HubConfig config = server.config(home.path());

  const HubError quant = resolve_error("test-org/tiny-GGUF:Q5_K_M", config);
  CHECK(quant.kind() == HubErrorKind::not_found);
  CHECK_THAT(quant.what(), ContainsSubstring("has no GGUF file of quant Q5_K_M") &&
                               ContainsSubstring("quants there: F16, Q4_0, Q4_K_M, Q8_0"));

  const HubError file = resolve_error("test-org/tiny-GGUF/tiny-Q2_K.gguf", config);
  CHECK(file.kind() == HubErrorKind::not_found);
  CHECK_THAT(file.what(), ContainsSubstring("has no file tiny-Q2_K.gguf") && ContainsSubstring("tiny-Q8_0.gguf"));

  const HubError repo = resolve_error("test-org/nope-GGUF", config);
  CHECK(repo.kind() == HubErrorKind::not_found);
  CHECK_THAT(repo.what(), ContainsSubstring("repository test-org/nope-GGUF was not found") &&
                              ContainsSubstring("HTTP 404") && ContainsSubstring("HF_TOKEN"));
  CHECK_FALSE(fs::exists(fs::path(config.cache_dir) / "models--test-org--nope-GGUF"));
}

TEST_CASE("A file already in the cache is used without a single request", "[hub][download]") {
  const testing::FakeRepos repos;
  const testing::FakeHub server(repos);
  const testing::TempDir home;
  const HubConfig config = server.config(home.path());

  SECTION("fetched by vkgraph before") {
    const ResolvedModel first = resolve("test-org/tiny-GGUF:Q8_0", config);
    const size_t seen = server.requests().size();
    const ResolvedModel again = resolve("test-org/tiny-GGUF:Q8_0", config);
    CHECK(again.from_cache_only);
    CHECK(again.path == first.path);
    CHECK(again.downloaded_bytes == 0);
    CHECK(server.requests().size() == seen);
  }
  SECTION("fetched by another tool (the layout written by python3 by the Hub's rules)") {
    const std::string sha = sha256_of_shared("models/tiny-gqa-q4_0.gguf");
    const std::string commit(40, 'c');
    const std::string script =
        "import os,shutil,sys\n"
        "cache,commit,sha,src=sys.argv[1:5]\n"
        "repo=os.path.join(cache,'models--test-org--tiny-GGUF')\n"
        "os.makedirs(os.path.join(repo,'blobs'));os.makedirs(os.path.join(repo,'refs'))\n"
        "snap=os.path.join(repo,'snapshots',commit);os.makedirs(snap)\n"
        "shutil.copy(src,os.path.join(repo,'blobs',sha))\n"
        "os.symlink(os.path.join('..','..','blobs',sha),os.path.join(snap,'tiny-Q4_0.gguf'))\n"
        "open(os.path.join(repo,'refs','main'),'w').write(commit)\n";
    const std::string command = "python3 -c " + testing::shell_quote(script) + " " +
                                testing::shell_quote(config.cache_dir) + " " + commit + " " + sha + " " +
                                testing::shell_quote(testing::shared_file("models/tiny-gqa-q4_0.gguf"));
    REQUIRE(std::system(command.c_str()) == 0);
    const ResolvedModel r = resolve("test-org/tiny-GGUF:Q4_0", config);
    CHECK(r.from_cache_only);
    CHECK(r.commit == commit);
    CHECK(sha256_file(r.path) == sha);
    CHECK(server.requests().empty());
  }
}

TEST_CASE("The cache layout is what the Hub's rules say, read back by python3", "[hub][download]") {
  const testing::FakeRepos repos;
  const testing::FakeHub server(repos);
  const testing::TempDir home;
  const HubConfig config = server.config(home.path());
  const ResolvedModel r = resolve("test-org/stories-GGUF:F32", config);

  // huggingface_hub's rules (docs/hub/local-cache.md): models--ORG--REPO, refs/main holding the
  // commit, snapshots/<commit>/<file> a relative link to ../../blobs/<hash>, the blob named by the
  // SHA-256 of its content, the lock in .locks/<repo folder>/<hash>.lock, no partial file left.
  const std::string script =
      "import hashlib,os,sys\n"
      "cache,org,name=sys.argv[1:4]\n"
      "repo=os.path.join(cache,'models--%s--%s'%(org,name))\n"
      "commit=open(os.path.join(repo,'refs','main')).read()\n"
      "assert len(commit)==40 and all(c in '0123456789abcdef' for c in commit), commit\n"
      "snap=os.path.join(repo,'snapshots',commit)\n"
      "for f in sorted(os.listdir(snap)):\n"
      "  p=os.path.join(snap,f); t=os.readlink(p); sha=os.path.basename(t)\n"
      "  assert t==os.path.join('..','..','blobs',sha), t\n"
      "  assert hashlib.sha256(open(p,'rb').read()).hexdigest()==sha, f\n"
      "  assert os.path.exists(os.path.join(cache,'.locks','models--%s--%s'%(org,name),sha+'.lock'))\n"
      "  print(f)\n"
      "assert not [b for b in os.listdir(os.path.join(repo,'blobs')) if b.endswith('.incomplete')]\n";
  const testing::TempDir out;
  const std::string command = "python3 -c " + testing::shell_quote(script) + " " +
                              testing::shell_quote(config.cache_dir) + " test-org stories-GGUF > " +
                              testing::shell_quote(out.file("files"));
  REQUIRE(std::system(command.c_str()) == 0);
  CHECK(read_text(out.file("files")) == "stories260K-F32-00001-of-00002.gguf\nstories260K-F32-00002-of-00002.gguf\n");
  CHECK(r.files.size() == 2);
}

TEST_CASE("A download the server drops half-way resumes from where it broke off", "[hub][download]") {
  const testing::FakeRepos repos;
  testing::FakeHubOptions options;
  options.drop_half = {kQ8};
  const testing::FakeHub server(repos, options);
  const testing::TempDir home;
  const HubConfig config = server.config(home.path());

  const ResolvedModel r = resolve("test-org/tiny-GGUF:Q8_0", config);
  const uint64_t size = fs::file_size(testing::shared_file("models/tiny-gqa-q8_0.gguf"));
  CHECK(sha256_file(r.path) == sha256_of_shared("models/tiny-gqa-q8_0.gguf"));
  const auto downloads = server.downloads_of(kQ8);
  REQUIRE(downloads.size() == 2);
  CHECK(downloads[0]["range"].is_null());
  CHECK(downloads[1]["range"] == "bytes=" + std::to_string(size / 2) + "-");
  // Each byte crossed the wire once: the first half, then the rest.
  CHECK(r.downloaded_bytes == size);
}

TEST_CASE("A stopped download keeps its partial file and the next one resumes it", "[hub][download]") {
  const testing::FakeRepos repos;
  const testing::TempDir home;
  const uint64_t size = fs::file_size(testing::shared_file("models/tiny-gqa-q8_0.gguf"));
  const std::string sha = sha256_of_shared("models/tiny-gqa-q8_0.gguf");
  uint64_t kept = 0;
  {
    testing::FakeHubOptions slow;
    slow.throttle = 2 << 20;  // 2 MiB/s: the 5.2 MiB file takes long enough to be stopped in the middle
    const testing::FakeHub server(repos, slow);
    ResolveOptions options;
    options.progress = [](const DownloadProgress& p) { return p.done < 1 << 20; };  // stop after 1 MiB
    const HubError e = resolve_error("test-org/tiny-GGUF:Q8_0", server.config(home.path()), options);
    CHECK(e.kind() == HubErrorKind::cancelled);
    CHECK_THAT(e.what(), ContainsSubstring("run the same command again to resume"));
  }
  const HubCache cache(home.path() / "hub");
  const fs::path partial = cache.incomplete_path("test-org/tiny-GGUF", sha);
  REQUIRE(fs::exists(partial));
  kept = fs::file_size(partial);
  CHECK(kept >= 1 << 20);
  CHECK(kept < size);
  CHECK_FALSE(fs::exists(cache.blob_path("test-org/tiny-GGUF", sha)));

  const testing::FakeHub server(repos);
  const ResolvedModel r = resolve("test-org/tiny-GGUF:Q8_0", server.config(home.path()));
  CHECK(sha256_file(r.path) == sha);
  const auto downloads = server.downloads_of(kQ8);
  REQUIRE(downloads.size() == 1);
  CHECK(downloads[0]["range"] == "bytes=" + std::to_string(kept) + "-");
  CHECK(r.downloaded_bytes == size - kept);
}

TEST_CASE("Bytes that do not match the Hub's SHA-256 never reach the cache", "[hub][download]") {
  const testing::FakeRepos repos;
  testing::FakeHubOptions options;
  options.corrupt = {kQ8};
  const testing::FakeHub server(repos, options);
  const testing::TempDir home;
  const HubConfig config = server.config(home.path());

  const HubError e = resolve_error("test-org/tiny-GGUF:Q8_0", config);
  CHECK(e.kind() == HubErrorKind::integrity);
  const std::string sha = sha256_of_shared("models/tiny-gqa-q8_0.gguf");
  CHECK_THAT(e.what(), ContainsSubstring("checksum mismatch for tiny-Q8_0.gguf") && ContainsSubstring(sha) &&
                           ContainsSubstring("the partial file was removed"));
  const fs::path repo = fs::path(config.cache_dir) / "models--test-org--tiny-GGUF";
  CHECK_FALSE(fs::exists(repo / "blobs" / sha));
  CHECK_FALSE(fs::exists(repo / "blobs" / (sha + ".incomplete")));
  CHECK_FALSE(fs::exists(repo / "snapshots"));
  CHECK_FALSE(fs::exists(repo / "refs" / "main"));
}

TEST_CASE("A gated repository asks for a token and says how to give one", "[hub][download]") {
  const testing::FakeRepos repos;
  testing::FakeHubOptions options;
  options.gated = {"test-org/gated-GGUF=" + testing::kGatedToken};
  const testing::FakeHub server(repos, options);
  const testing::TempDir home;
  HubConfig config = server.config(home.path());

  const HubError none = resolve_error("test-org/gated-GGUF:Q8_0", config);
  CHECK(none.kind() == HubErrorKind::access);
  CHECK_THAT(none.what(), ContainsSubstring("test-org/gated-GGUF is gated (HTTP 401") &&
                              ContainsSubstring(server.endpoint() + "/test-org/gated-GGUF") &&
                              ContainsSubstring("HF_TOKEN=") && ContainsSubstring(config.token_file));

  config.token = "hf_NotTheRightTokenForThisRepository00";
  config.token_source = "HF_TOKEN";
  const HubError wrong = resolve_error("test-org/gated-GGUF:Q8_0", config);
  CHECK(wrong.kind() == HubErrorKind::access);
  CHECK_THAT(wrong.what(), ContainsSubstring("refused the token from HF_TOKEN") && ContainsSubstring("HTTP 403"));

  config.token = testing::kGatedToken;
  const ResolvedModel r = resolve("test-org/gated-GGUF:Q8_0", config);
  CHECK(sha256_file(r.path) == sha256_of_shared("models/stories260K.gguf"));
  const auto requests = server.requests();
  CHECK(requests.back()["path"].get<std::string>().starts_with("/cdn/"));
  CHECK(requests[requests.size() - 2]["authorization"] == "Bearer " + testing::kGatedToken);
}

TEST_CASE("Offline, only the cache is used, and a model it lacks is named", "[hub][download]") {
  const testing::FakeRepos repos;
  const testing::TempDir home;
  HubConfig config;
  {
    testing::FakeHub server(repos);
    config = server.config(home.path());
    config.offline = true;
    const HubError e = resolve_error("test-org/tiny-GGUF:Q8_0", config);
    CHECK(e.kind() == HubErrorKind::not_found);
    CHECK_THAT(e.what(), ContainsSubstring("HF_HUB_OFFLINE") && ContainsSubstring("nothing of test-org/tiny-GGUF"));
    CHECK(server.requests().empty());
    config.offline = false;
    resolve("test-org/tiny-GGUF:Q8_0", config);
  }
  config.offline = true;  // and the server is gone
  // Without a quant the rule runs over what the cache holds: no Q4_K_M there, so Q8_0.
  const ResolvedModel r = resolve("test-org/tiny-GGUF", config);
  CHECK(r.from_cache_only);
  CHECK(r.files == std::vector<std::string>{"tiny-Q8_0.gguf"});
  const HubError f16 = resolve_error("test-org/tiny-GGUF:F16", config);
  CHECK_THAT(f16.what(), ContainsSubstring("quants there: Q8_0"));
}

TEST_CASE("No network: a clear error, or the cached file with a warning", "[hub][download]") {
  const testing::FakeRepos repos;
  const testing::TempDir home;
  HubConfig config;
  config.endpoint = "http://127.0.0.1:" + std::to_string(testing::closed_port());
  config.cache_dir = (home.path() / "hub").string();
  const HubError e = resolve_error("test-org/tiny-GGUF:Q8_0", config);
  CHECK(e.kind() == HubErrorKind::network);
  CHECK_THAT(e.what(), ContainsSubstring("cannot reach the Hugging Face Hub at " + config.endpoint) &&
                           ContainsSubstring("HF_HUB_OFFLINE=1"));
  {
    const testing::FakeHub server(repos);
    resolve("test-org/tiny-GGUF:Q8_0", server.config(home.path()));
  }
  // The default asks the Hub (the cache holds no Q4_K_M); unreachable, it falls back to the cache.
  const ResolvedModel r = resolve("test-org/tiny-GGUF", config);
  CHECK(r.files == std::vector<std::string>{"tiny-Q8_0.gguf"});
}

TEST_CASE("A full disk is refused before the download, or named when a write fails", "[hub][download]") {
  const testing::FakeRepos repos;
  const testing::TempDir home;
  SECTION("a file larger than the free space") {
    testing::FakeHubOptions options;
    options.fake_size = {kQ8 + "=" + std::to_string(uint64_t(1) << 60)};  // 1 EiB: larger than any disk
    const testing::FakeHub server(repos, options);
    const HubError e = resolve_error("test-org/tiny-GGUF:Q8_0", server.config(home.path()));
    CHECK(e.kind() == HubErrorKind::disk);
    CHECK_THAT(e.what(), ContainsSubstring("not enough disk space for test-org/tiny-GGUF:Q8_0") &&
                             ContainsSubstring("HF_HUB_CACHE"));
    CHECK(server.downloads_of(kQ8).empty());
  }
  SECTION("a write that fails with ENOSPC (the partial file leads to /dev/full)") {
    const testing::FakeHub server(repos);
    const std::string sha = sha256_of_shared("models/tiny-gqa-q8_0.gguf");
    const HubCache cache(home.path() / "hub");
    const fs::path partial = cache.incomplete_path("test-org/tiny-GGUF", sha);
    fs::create_directories(partial.parent_path());
    fs::create_symlink("/dev/full", partial);
    const HubError e = resolve_error("test-org/tiny-GGUF:Q8_0", server.config(home.path()));
    CHECK(e.kind() == HubErrorKind::disk);
    CHECK_THAT(e.what(), ContainsSubstring("the disk is full") && ContainsSubstring("free some space"));
    CHECK_FALSE(fs::exists(cache.blob_path("test-org/tiny-GGUF", sha)));
  }
}
