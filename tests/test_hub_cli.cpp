// `vkgraph pull` and `-hf` on the commands, as a user runs them against a (fake) Hub: a split
// model pulled and run as one, two pulls of one file at once, the progress bar and Ctrl-C in a
// real terminal, a token from the token file, and the bundled model with no network at all.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "fake_hub.h"
#include "models/hub/content_digest.h"
#include "models/hub/http_client.h"
#include "models/hub/hub_cache.h"
#include "run_command.h"
#include "tmux_session.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

const std::string kQ8 = "test-org/tiny-GGUF/tiny-Q8_0.gguf";

}  // namespace

TEST_CASE("vkgraph pull, then run -hf: a split model runs as the whole file does", "[hub][cli]") {
  const testing::FakeRepos repos;
  const testing::FakeHub server(repos);
  const testing::TempDir home;

  const auto pull = testing::run_vkgraph_hub(server.endpoint(), home.path(), "pull test-org/stories-GGUF:f32");
  INFO(pull.err);
  REQUIRE(pull.exit_code == 0);
  const fs::path path = pull.out.substr(0, pull.out.size() - 1);  // the path, then a newline
  CHECK(path.filename() == "stories260K-F32-00001-of-00002.gguf");
  CHECK(path.string().starts_with((home.path() / "hub" / "models--test-org--stories-GGUF" / "snapshots").string()));
  CHECK_THAT(pull.err, ContainsSubstring("and 1 more parts") && ContainsSubstring("downloaded"));
  const size_t requests = server.requests().size();

  // llama.cpp's spelling, -hf; from the cache, so the server sees nothing more.
  const std::string gen = " -p \"Once upon a time\" -n 24 --temp 0 --backend cpu";
  const auto split =
      testing::run_vkgraph_hub(server.endpoint(), home.path(), "run -hf test-org/stories-GGUF:F32" + gen);
  INFO(split.err);
  REQUIRE(split.exit_code == 0);
  CHECK(server.requests().size() == requests);
  const auto whole = testing::run_vkgraph("run -m " + testing::shared_file("models/stories260K.gguf") + gen);
  REQUIRE(whole.exit_code == 0);
  CHECK(split.out == whole.out);
  CHECK(split.out.size() > std::string("Once upon a time\n").size());

  // bench takes -hf too, and measures the file the name means.
  const auto bench = testing::run_vkgraph_hub(
      server.endpoint(), home.path(), "bench -hf test-org/stories-GGUF:F32 -p 8 -n 4 -r 1 --backend cpu -o json");
  INFO(bench.err);
  REQUIRE(bench.exit_code == 0);
  CHECK_THAT(bench.out, ContainsSubstring("\"model_path\": \"" + path.string() + "\""));
  CHECK(server.requests().size() == requests);

  // pull asks the Hub again (for a newer commit) but transfers nothing.
  const auto again = testing::run_vkgraph_hub(server.endpoint(), home.path(), "pull -hf test-org/stories-GGUF:F32");
  REQUIRE(again.exit_code == 0);
  CHECK(again.out == pull.out);
  CHECK_THAT(again.err, ContainsSubstring("already in the cache"));
  CHECK(server.requests().size() == requests + 1);  // the listing only

  const auto both =
      testing::run_vkgraph_hub(server.endpoint(), home.path(), "run -m x.gguf -hf test-org/stories-GGUF" + gen);
  CHECK(both.exit_code != 0);
  CHECK_THAT(both.err, ContainsSubstring("excludes"));
}

TEST_CASE("Two pulls of one file at once: one download, both get the file", "[hub][cli]") {
  const testing::FakeRepos repos;
  testing::FakeHubOptions options;
  options.throttle = 2 << 20;  // 2 MiB/s: the 5.2 MiB file takes over two seconds, so the pulls overlap
  const testing::FakeHub server(repos, options);
  const testing::TempDir home, out;
  const std::string vkgraph = std::string("'") + VKGRAPH_CLI_PATH + "'";
  const std::string env = testing::hub_test_env(server.endpoint(), home.path());
  const std::string command = "(" + env + vkgraph + " pull test-org/tiny-GGUF:Q8_0 >" + out.file("o1") + " 2>" +
                              out.file("e1") + "; echo $? >" + out.file("r1") + ") & (" + env + vkgraph +
                              " pull test-org/tiny-GGUF:Q8_0 >" + out.file("o2") + " 2>" + out.file("e2") +
                              "; echo $? >" + out.file("r2") + ") & wait";
  REQUIRE(std::system(("bash -c " + testing::shell_quote(command)).c_str()) == 0);
  const auto read = [&](const std::string& name) {
    std::ifstream in(out.file(name));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  INFO(read("e1") << read("e2"));
  CHECK(read("r1") == "0\n");
  CHECK(read("r2") == "0\n");
  CHECK(read("o1") == read("o2"));
  CHECK(server.downloads_of(kQ8).size() == 1);
  // Both asked the Hub before the one download ended: the second waited for the first's lock
  // and found the file in place, rather than running after it.
  double listings_end = 0, sent = 0;
  int listings = 0;
  for (const auto& e : server.log()) {
    if (e.contains("method") && e["path"] == "/api/models/test-org/tiny-GGUF/revision/main") {
      listings++;
      listings_end = std::max(listings_end, e["time"].get<double>());
    }
    if (e.contains("event") && e["event"] == "sent") sent = e["time"].get<double>();
  }
  CHECK(listings == 2);
  CHECK(listings_end < sent);
  CHECK(hub::sha256_file(read("o1").substr(0, read("o1").size() - 1)) ==
        hub::sha256_file(testing::shared_file("models/tiny-gqa-q8_0.gguf")));
}

TEST_CASE("On a terminal: a progress bar with speed and time left; Ctrl-C keeps a partial file", "[hub][cli]") {
  const testing::FakeRepos repos;
  const testing::TempDir home;
  const std::string sha = hub::sha256_file(testing::shared_file("models/tiny-gqa-q8_0.gguf"));
  const hub::HubCache cache(home.path() / "hub");
  const fs::path partial = cache.incomplete_path("test-org/tiny-GGUF", sha);
  {
    testing::FakeHubOptions options;
    options.throttle = 512 << 10;  // 512 KiB/s: ten seconds for the file, time to see the bar and stop it
    const testing::FakeHub server(repos, options);
    testing::TmuxSession tmux("vkgraph-hub-pull", testing::hub_test_env(server.endpoint(), home.path()) + "'" +
                                                      VKGRAPH_CLI_PATH + "' pull test-org/tiny-GGUF:Q8_0");
    REQUIRE(tmux.available());
    REQUIRE(tmux.wait_for(
        [](const std::string& s) {
          return s.find("tiny-Q8_0.gguf [") != std::string::npos && s.find("iB/s") != std::string::npos &&
                 s.find(" s left") != std::string::npos;
        },
        10));
    tmux.press("C-c");
    REQUIRE(tmux.wait_for_text("[exit ", 10));
    const std::string screen = tmux.screen();
    INFO(screen);
    CHECK(screen.find("[exit 0]") == std::string::npos);
    CHECK_THAT(screen, ContainsSubstring("run the same command again to resume"));
  }
  REQUIRE(fs::exists(partial));
  const uint64_t kept = fs::file_size(partial);
  CHECK(kept > 0);
  CHECK(kept < fs::file_size(testing::shared_file("models/tiny-gqa-q8_0.gguf")));

  const testing::FakeHub server(repos);
  const auto r = testing::run_vkgraph_hub(server.endpoint(), home.path(), "pull test-org/tiny-GGUF:Q8_0");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto downloads = server.downloads_of(kQ8);
  REQUIRE(downloads.size() == 1);
  CHECK(downloads[0]["range"] == "bytes=" + std::to_string(kept) + "-");
  CHECK(r.err.find("MiB/s") == std::string::npos);  // not a terminal: no bar
  CHECK(hub::sha256_file(r.out.substr(0, r.out.size() - 1)) == sha);
}

TEST_CASE("A gated model pulls with the token file of HF_HOME", "[hub][cli]") {
  const testing::FakeRepos repos;
  testing::FakeHubOptions options;
  options.gated = {"test-org/gated-GGUF=" + testing::kGatedToken};
  const testing::FakeHub server(repos, options);
  const testing::TempDir home;

  const auto refused = testing::run_vkgraph_hub(server.endpoint(), home.path(), "pull test-org/gated-GGUF");
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, ContainsSubstring("is gated") && ContainsSubstring((home.path() / "token").string()));

  std::ofstream(home.path() / "token") << testing::kGatedToken << "\n";  // as `hf auth login` saves it
  const auto pulled = testing::run_vkgraph_hub(server.endpoint(), home.path(), "pull test-org/gated-GGUF");
  INFO(pulled.err);
  REQUIRE(pulled.exit_code == 0);
  CHECK(hub::sha256_file(pulled.out.substr(0, pulled.out.size() - 1)) ==
        hub::sha256_file(testing::shared_file("models/stories260K.gguf")));
}

TEST_CASE("Offline, run -hf says it uses the cache; without the model it says what is missing", "[hub][cli]") {
  const testing::FakeRepos repos;
  const testing::TempDir home;
  const int port = testing::closed_port();
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(port);
  const auto missing =
      testing::run_vkgraph_hub(nowhere, home.path(), "run -hf test-org/stories-GGUF -n 4", "HF_HUB_OFFLINE=1");
  CHECK(missing.exit_code != 0);
  CHECK_THAT(missing.err, ContainsSubstring("HF_HUB_OFFLINE") && ContainsSubstring("test-org/stories-GGUF"));
  {
    const testing::FakeHub server(repos);
    REQUIRE(testing::run_vkgraph_hub(server.endpoint(), home.path(), "pull test-org/stories-GGUF").exit_code == 0);
  }
  const auto offline = testing::run_vkgraph_hub(
      nowhere, home.path(), "run -hf test-org/stories-GGUF -p Once -n 4 --temp 0 --backend cpu", "HF_HUB_OFFLINE=1");
  INFO(offline.err);
  REQUIRE(offline.exit_code == 0);
  CHECK_THAT(offline.err, ContainsSubstring("offline (HF_HUB_OFFLINE): using"));
  CHECK(offline.out.starts_with("Once"));
}

TEST_CASE("The bundled default model runs with no network and leaves the Hub's cache alone", "[hub][cli]") {
  const testing::TempDir home;
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(testing::closed_port());
  const auto r =
      testing::run_vkgraph_hub(nowhere, home.path(), "run -p \"Once upon a time\" -n 8 --temp 0 --backend cpu");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.starts_with("Once upon a time"));
  CHECK(fs::is_empty(home.path()));
}

TEST_CASE("vkgraph serve -hf serves the model the name means", "[hub][cli]") {
  const testing::FakeRepos repos;
  const testing::FakeHub hub_server(repos);
  const testing::TempDir home, out;
  const std::string err = out.file("stderr");
  // Built before fork: the child only execs (this process has threads; the child may not allocate).
  // `exec` keeps the pid, so SIGTERM below reaches the server itself.
  const std::string command =
      "exec " + testing::hub_test_env(hub_server.endpoint(), home.path()) + "'" + VKGRAPH_CLI_PATH +
      "' serve -hf test-org/stories-GGUF --port 0 --backend cpu --parallel 1 </dev/null 2>'" + err + "'";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  REQUIRE(pid > 0);
  // The port it chose, from its "serve: ... on http://127.0.0.1:PORT/v1" line; 60 s covers the
  // download and the model load on a busy machine (a second or two on an idle one).
  std::string port;
  bool exited = false;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (port.empty() && std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(err);
    std::stringstream text;
    text << in.rdbuf();
    std::smatch m;
    const std::string s = text.str();
    if (std::regex_search(s, m, std::regex("http://127\\.0\\.0\\.1:([0-9]+)/v1"))) port = m[1];
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string body;
  if (!port.empty()) {
    hub::HttpRequest request;
    request.url = "http://127.0.0.1:" + port + "/v1/models";
    request.on_body = [&body](const char* data, size_t n) {
      body.append(data, n);
      return true;
    };
    hub::http_get(request);
  }
  if (!exited) {
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
  }
  std::ifstream in(err);
  std::stringstream log;
  log << in.rdbuf();
  INFO(log.str());
  REQUIRE_FALSE(port.empty());
  CHECK_THAT(body, ContainsSubstring("\"stories260K-F32-00001-of-00002\""));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // SIGTERM drains and exits 0
}
