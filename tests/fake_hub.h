#pragma once
// The fake Hugging Face Hub of the -hf tests: tests/fake_hub.py on 127.0.0.1, started for one
// test and always stopped (killed and reaped) when the FakeHub goes out of scope; the server
// also ends itself after `lifetime` seconds, so a crashed test leaves nothing running.
// FakeRepos builds the repositories it serves from ../shared/models under llama.cpp-style names.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gguf_split_support.h"
#include "models/hub/hub_config.h"
#include "run_command.h"
#include "shared_files.h"
#include "temp_dir.h"

namespace vkgraph::testing {

// The token the gated repository accepts (the Hub's tokens are "hf_" and 34 more characters).
inline const std::string kGatedToken = "hf_TestTokenForTheGatedRepository0001";

// The repositories the fake Hub serves, in a folder of their own:
//   test-org/tiny-GGUF     tiny-{Q4_K_M,Q8_0,Q4_0,F16}.gguf from the shared tiny models, a projector
//                          that a quant must never pick, and a README (a small non-LFS file)
//   test-org/stories-GGUF  stories260K as a two-part split model (F32), and nothing else
//   test-org/gated-GGUF    stories260K as gated-Q8_0.gguf, for the token tests
class FakeRepos {
 public:
  FakeRepos() {
    link("test-org/tiny-GGUF/tiny-Q4_K_M.gguf", "models/tiny-k-q4_k_m.gguf");
    link("test-org/tiny-GGUF/tiny-Q8_0.gguf", "models/tiny-gqa-q8_0.gguf");
    link("test-org/tiny-GGUF/tiny-Q4_0.gguf", "models/tiny-gqa-q4_0.gguf");
    link("test-org/tiny-GGUF/tiny-F16.gguf", "models/tiny-gqa-f16.gguf");
    write("test-org/tiny-GGUF/mmproj-tiny-Q4_K_M.gguf", "not a model: a projector's place");
    write("test-org/tiny-GGUF/README.md", "# tiny\nTest models.\n");
    std::filesystem::create_directories(dir_.path() / "test-org/stories-GGUF");
    write_split_model(shared_file("models/stories260K.gguf"),
                      (dir_.path() / "test-org/stories-GGUF/stories260K-F32").string(), 2);
    link("test-org/gated-GGUF/gated-Q8_0.gguf", "models/stories260K.gguf");
  }
  const std::filesystem::path& root() const { return dir_.path(); }

 private:
  void link(const std::string& at, const std::string& shared) {
    const auto path = dir_.path() / at;
    std::filesystem::create_directories(path.parent_path());
    std::filesystem::create_symlink(shared_file(shared), path);
  }
  void write(const std::string& at, const std::string& text) {
    const auto path = dir_.path() / at;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  TempDir dir_;
};

struct FakeHubOptions {
  std::vector<std::string> gated;      // ORG/REPO=TOKEN
  std::vector<std::string> drop_half;  // ORG/REPO/PATH: the first download sends half, then closes
  std::vector<std::string> corrupt;    // ORG/REPO/PATH: one byte changed in what is sent
  std::vector<std::string> fake_size;  // ORG/REPO/PATH=BYTES: the size the listing claims
  double throttle = 0;                 // bytes per second of every download (0: as fast as it goes)
  // Longer than any test here runs: the slowest, throttled ones take a few seconds alone, and
  // ten times that on a machine loaded by parallel builds and tests.
  double lifetime = 300;
};

class FakeHub {
 public:
  explicit FakeHub(const FakeRepos& repos, const FakeHubOptions& options = {}) {
    const std::string port_file = dir_.file("port");
    log_ = dir_.file("requests.jsonl");
    std::vector<std::string> args = {"python3",     std::string(VKGRAPH_SOURCE_DIR) + "/tests/fake_hub.py",
                                     "--root",      repos.root().string(),
                                     "--port-file", port_file,
                                     "--log",       log_,
                                     "--lifetime",  std::to_string(options.lifetime),
                                     "--throttle",  std::to_string(options.throttle)};
    const auto add = [&](const char* flag, const std::vector<std::string>& values) {
      for (const std::string& v : values) {
        args.push_back(flag);
        args.push_back(v);
      }
    };
    add("--gated", options.gated);
    add("--drop-half", options.drop_half);
    add("--corrupt", options.corrupt);
    add("--fake-size", options.fake_size);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      execvp("python3", argv.data());
      _exit(127);
    }
    REQUIRE(pid_ > 0);
    // python3 starts and hashes the repositories in a fraction of a second on an idle machine;
    // under a parallel suite beside builds (load 15-20) it once took over 10 s. The wait ends
    // as soon as the port is written, so the generous bound costs nothing when all is well.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (!std::filesystem::exists(port_file) && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL("the fake Hub (tests/fake_hub.py) exited at start with status " << status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(std::filesystem::exists(port_file));
    std::ifstream(port_file) >> port_;
    REQUIRE(port_ > 0);
  }
  ~FakeHub() { stop(); }
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Every request the server saw, in order, as {"method", "path", "query", "range", "authorization",
  // "time"}, and events: {"event": "sent" | "dropped", "path": ORG/REPO/PATH, "time"} when it
  // finished a download or cut one short.
  std::vector<nlohmann::json> log() const {
    std::vector<nlohmann::json> entries;
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);) entries.push_back(nlohmann::json::parse(line));
    return entries;
  }
  std::vector<nlohmann::json> requests() const {
    std::vector<nlohmann::json> out;
    for (auto& e : log()) {
      if (e.contains("method")) out.push_back(e);
    }
    return out;
  }
  // The downloads of one file's bytes (GET /cdn/... for ORG/REPO/PATH).
  std::vector<nlohmann::json> downloads_of(const std::string& repo_path) const {
    std::vector<nlohmann::json> out;
    for (auto& e : requests()) {
      if (e["path"].get<std::string>().starts_with("/cdn/") &&
          e["query"].get<std::string>().find(url_path(repo_path)) != std::string::npos) {
        out.push_back(e);
      }
    }
    return out;
  }

  // A configuration for the library calls: this server, a cache and token file under `home`.
  hub::HubConfig config(const std::filesystem::path& home) const {
    hub::HubConfig c;
    c.endpoint = endpoint();
    c.cache_dir = (home / "hub").string();
    c.token_file = (home / "token").string();
    return c;
  }

 private:
  static std::string url_path(const std::string& s) {  // as Python's urllib.parse.quote writes it
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
        out += char(c);
      } else {
        out += fmt::format("%{:02X}", c);
      }
    }
    return out;
  }
  TempDir dir_;
  std::string log_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Runs the vkgraph program with the Hub variables set for a test: this endpoint, a cache and
// HF_HOME under `home`, no token from the environment, no proxy for loopback. `extra_env` adds
// more ("HF_HUB_OFFLINE=1 HF_TOKEN=...").
// The shell words that give a command the Hub settings of a test: `endpoint`, the cache under
// `home`, and none of the user's own (token, offline mode, cache, proxy).
inline std::string hub_test_env(const std::string& endpoint, const std::filesystem::path& home,
                                const std::string& extra_env = "") {
  return "env -u HF_TOKEN -u HUGGING_FACE_HUB_TOKEN -u HF_HUB_OFFLINE -u HF_TOKEN_PATH "
         "-u HUGGINGFACE_HUB_CACHE -u HF_HUB_CACHE NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 HF_ENDPOINT=" +
         shell_quote(endpoint) + " HF_HOME=" + shell_quote(home.string()) + " " + extra_env + " ";
}

inline CommandResult run_vkgraph_hub(const std::string& endpoint, const std::filesystem::path& home,
                                     const std::string& args, const std::string& extra_env = "") {
  const std::string env = hub_test_env(endpoint, home, extra_env);
  TempDir dir;
  const std::string out = dir.file("stdout"), err = dir.file("stderr");
  const std::string command = env + "'" + VKGRAPH_CLI_PATH + "' " + args + " </dev/null >'" + out + "' 2>'" + err + "'";
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const auto slurp = [](const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  result.out = slurp(out);
  result.err = slurp(err);
  return result;
}

// A loopback port nothing listens on (bound, then closed): "no network" for the client.
inline int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace vkgraph::testing
