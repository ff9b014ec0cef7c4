// vkgraph_hub_resolve: a model name to a local path through the C API, against the fake Hub,
// with the status a program acts on for each way it fails.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <string>

#include "fake_hub.h"
#include "include/vkgraph.h"
#include "models/hub/content_digest.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

struct Resolved {
  vkgraph_status status;
  std::string path;
  std::string error;
};

Resolved resolve(const char* name, const vkgraph_hub_params& params) {
  char path[4096];
  size_t length = 0;
  const vkgraph_status status = vkgraph_hub_resolve(name, &params, path, sizeof path, &length);
  return {status, status == VKGRAPH_OK ? std::string(path, length) : "", vkgraph_last_error()};
}

}  // namespace

TEST_CASE("capi: vkgraph_hub_resolve gives a path vkgraph_model_load opens, split models included", "[hub][capi]") {
  const testing::FakeRepos repos;
  const testing::FakeHub server(repos);
  const testing::TempDir home;
  const std::string endpoint = server.endpoint(), cache = (home.path() / "hub").string();
  vkgraph_hub_params params = vkgraph_hub_default_params();
  params.endpoint = endpoint.c_str();
  params.cache_dir = cache.c_str();
  params.token = "";  // not whatever the environment running the test holds
  struct Seen {
    uint64_t done = 0, total = 0;
    int calls = 0;
  } seen;
  params.progress = [](uint64_t done, uint64_t total, void* user) {
    auto* s = static_cast<Seen*>(user);
    s->done = done;
    s->total = total;
    s->calls++;
    return 0;
  };
  params.progress_user_data = &seen;

  const Resolved r = resolve("test-org/stories-GGUF", params);
  INFO(r.error);
  REQUIRE(r.status == VKGRAPH_OK);
  CHECK(r.path.ends_with("/stories260K-F32-00001-of-00002.gguf"));
  CHECK(seen.calls > 0);
  CHECK(seen.total > 0);

  vkgraph_model_params model_params = vkgraph_model_default_params();
  model_params.backend = "cpu";
  vkgraph_model* model = nullptr;
  REQUIRE(vkgraph_model_load(r.path.c_str(), &model_params, &model) == VKGRAPH_OK);
  int32_t n_vocab = 0;
  CHECK(vkgraph_model_n_vocab(model, &n_vocab) == VKGRAPH_OK);
  CHECK(n_vocab == 512);
  vkgraph_model_free(model);

  // Too small a buffer: the length it needs, and the file stays in the cache for the next call.
  char small[8];
  size_t length = 0;
  CHECK(vkgraph_hub_resolve("test-org/stories-GGUF", &params, small, sizeof small, &length) ==
        VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(length == r.path.size());

  params.offline = 1;
  const Resolved offline = resolve("test-org/tiny-GGUF:Q8_0", params);
  CHECK(offline.status == VKGRAPH_ERR_NOT_FOUND);
  CHECK_THAT(offline.error, ContainsSubstring("HF_HUB_OFFLINE"));
  params.offline = 0;

  const Resolved bad = resolve("not a name", params);
  CHECK(bad.status == VKGRAPH_ERR_INVALID_ARGUMENT);
  CHECK(resolve("test-org/nope-GGUF", params).status == VKGRAPH_ERR_NOT_FOUND);
}

TEST_CASE("capi: vkgraph_hub_resolve: a gated repository is VKGRAPH_ERR_ACCESS, a cancel VKGRAPH_ERR_CANCELLED",
          "[hub][capi]") {
  const testing::FakeRepos repos;
  testing::FakeHubOptions options;
  options.gated = {"test-org/gated-GGUF=" + testing::kGatedToken};
  options.throttle = 1 << 20;
  const testing::FakeHub server(repos, options);
  const testing::TempDir home;
  const std::string endpoint = server.endpoint(), cache = (home.path() / "hub").string();
  vkgraph_hub_params params = vkgraph_hub_default_params();
  params.endpoint = endpoint.c_str();
  params.cache_dir = cache.c_str();
  params.token = "";

  const Resolved gated = resolve("test-org/gated-GGUF", params);
  CHECK(gated.status == VKGRAPH_ERR_ACCESS);
  CHECK_THAT(gated.error, ContainsSubstring("gated") && ContainsSubstring("token"));

  const volatile int cancel = 1;
  params.token = testing::kGatedToken.c_str();
  params.cancel = &cancel;
  const Resolved cancelled = resolve("test-org/gated-GGUF", params);
  CHECK(cancelled.status == VKGRAPH_ERR_CANCELLED);
  CHECK(std::string(vkgraph_status_name(VKGRAPH_ERR_ACCESS)) == "VKGRAPH_ERR_ACCESS");
}
