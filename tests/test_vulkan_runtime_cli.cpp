// `vkgraph devices` as a user runs it: the JSON parses, and a bad --device or a missing feature
// is a clear message with a non-zero exit, never a crash.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/backend/vulkan/context.h"
#include "engine/core/version.h"
#include "tests/vulkan_test_support.h"

using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs the built CLI with `args` (already shell-quoted), capturing stdout and stderr.
RunResult run_cli(const std::string& args) {
  const fs::path dir = fs::temp_directory_path() / ("vkgraph-cli-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path out = dir / "out.txt", err = dir / "err.txt";
  const std::string command =
      std::string("'") + VKGRAPH_CLI_PATH + "' " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(command.c_str());
  RunResult r;
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove_all(dir);
  return r;
}

}  // namespace

TEST_CASE("vulkan cli devices --json is valid JSON describing every device", "[vulkan][runtime][cli]") {
  const RunResult r = run_cli("devices --json");
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  const fs::path file = fs::temp_directory_path() / ("vkgraph-devices-" + std::to_string(::getpid()) + ".json");
  { std::ofstream(file) << r.out; }
  // Python's json module is the independent judge of validity; the checks name fields a
  // program reading the output relies on.
  const std::string check =
      "python3 -c \"import json,sys; d=json.load(open(sys.argv[1])); "
      "assert isinstance(d, list); d=[x for x in d if x['backend'] == 'vulkan']; "  // CUDA entries follow them
      "assert len(d) >= 1; "
      "assert all(isinstance(x['name'], str) and x['limits']['max_storage_buffer_range'] > 0 and "
      "isinstance(x['cooperative_matrix']['shapes'], list) and x['subgroup']['size'] > 0 and "
      "x['vkgraph']['version'] for x in d); "
      "assert sum(1 for x in d if x['default']) == 1\" '" +
      file.string() + "'";
  const int status = std::system(check.c_str());
  fs::remove(file);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(r.out, ContainsSubstring(vkgraph::test::vulkan_context()->info().name));
}

TEST_CASE("vulkan cli devices prints a readable block per device", "[vulkan][runtime][cli]") {
  const RunResult r = run_cli("devices");
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, ContainsSubstring(std::string("vkgraph ") + vkgraph::version()));
  CHECK_THAT(r.out, ContainsSubstring(vkgraph::git_commit()));
  CHECK_THAT(r.out, ContainsSubstring("device 0: "));
  CHECK_THAT(r.out, ContainsSubstring("subgroup size"));
  CHECK_THAT(r.out, ContainsSubstring("maxMemoryAllocationSize"));
  CHECK_THAT(r.out, ContainsSubstring("timestamps"));
  CHECK_THAT(r.out, ContainsSubstring("[default]"));
}

TEST_CASE("vulkan cli rejects an unknown device or a missing feature cleanly", "[vulkan][runtime][cli]") {
  const RunResult bad = run_cli("devices --device no-such-gpu-42");
  CHECK(bad.exit_code == 1);  // an Error, not a crash (signal) or an internal error (3)
  CHECK_THAT(bad.err, ContainsSubstring("no-such-gpu-42"));
  CHECK_THAT(bad.err, ContainsSubstring("available devices"));

  const RunResult bad_index = run_cli("devices --device 77");
  CHECK(bad_index.exit_code == 1);
  CHECK_THAT(bad_index.err, ContainsSubstring("index 77"));

  const RunResult bad_feature = run_cli("devices --require warp_drive");
  CHECK(bad_feature.exit_code == 1);
  CHECK_THAT(bad_feature.err, ContainsSubstring("unknown device feature 'warp_drive'"));

  auto ctx = vkgraph::test::vulkan_context();
  if (ctx->has(vkgraph::vk::Feature::cooperative_matrix)) {
    SKIP("this device has cooperative matrices, so requiring them cannot fail here");
  }
  const RunResult missing = run_cli("devices --require cooperative_matrix");
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, ContainsSubstring("lacks the feature cooperative_matrix"));
  CHECK_THAT(missing.err, ContainsSubstring(ctx->info().name));
}

TEST_CASE("vulkan cli honours VKGRAPH_DEVICE", "[vulkan][runtime][cli]") {
  const RunResult r = run_cli("devices --json");
  REQUIRE(r.exit_code == 0);
  ::setenv("VKGRAPH_DEVICE", "no-such-gpu-env", 1);
  const RunResult bad = run_cli("devices");
  ::unsetenv("VKGRAPH_DEVICE");
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, ContainsSubstring("no-such-gpu-env"));
}
