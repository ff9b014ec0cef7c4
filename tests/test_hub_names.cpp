// The -hf name rules without a server: how names parse, which file a quant picks (llama.cpp's
// rule), the Hub's variables, and the hashes downloads are checked with.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "models/hub/content_digest.h"
#include "models/hub/hub_cache.h"
#include "models/hub/hub_config.h"
#include "models/hub/hub_error.h"
#include "models/hub/model_name.h"
#include "models/hub/quant_choice.h"
#include "shared_files.h"
#include "temp_dir.h"

using namespace vkgraph;
using namespace vkgraph::hub;
using Catch::Matchers::ContainsSubstring;

namespace {

HubErrorKind kind_of(const std::string& name) {
  try {
    parse_model_name(name);
  } catch (const HubError& e) {
    return e.kind();
  }
  FAIL("'" << name << "' was accepted");
  return HubErrorKind::network;
}

// Sets environment variables for one test and puts the old values back.
class EnvGuard {
 public:
  void set(const char* name, const char* value) {
    remember(name);
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~EnvGuard() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        unsetenv(it->first.c_str());
      }
    }
  }

 private:
  void remember(const char* name) {
    const char* old = std::getenv(name);
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace

TEST_CASE("Hub model names: ORG/REPO, ORG/REPO:QUANT and ORG/REPO/FILE.gguf", "[hub]") {
  const ModelName plain = parse_model_name("bartowski/Llama-3.2-1B-Instruct-GGUF");
  CHECK(plain.repo == "bartowski/Llama-3.2-1B-Instruct-GGUF");
  CHECK(plain.quant.empty());
  CHECK(plain.file.empty());

  const ModelName quant = parse_model_name("unsloth/Qwen3-0.6B-GGUF:UD-Q4_K_XL");
  CHECK(quant.repo == "unsloth/Qwen3-0.6B-GGUF");
  CHECK(quant.quant == "UD-Q4_K_XL");
  CHECK(quant.text() == "unsloth/Qwen3-0.6B-GGUF:UD-Q4_K_XL");

  const ModelName file = parse_model_name("org/repo/Q4_K_M/model-Q4_K_M-00001-of-00002.gguf");
  CHECK(file.repo == "org/repo");
  CHECK(file.file == "Q4_K_M/model-Q4_K_M-00001-of-00002.gguf");
  CHECK(file.quant.empty());

  CHECK(kind_of("no-slash") == HubErrorKind::invalid_name);
  CHECK(kind_of("org/") == HubErrorKind::invalid_name);
  CHECK(kind_of("-org/repo") == HubErrorKind::invalid_name);
  CHECK(kind_of("org/re--po") == HubErrorKind::invalid_name);
  CHECK(kind_of("org/repo:") == HubErrorKind::invalid_name);
  CHECK(kind_of("org/repo:Q4 K") == HubErrorKind::invalid_name);
  CHECK(kind_of("org/repo/../../etc/passwd.gguf") == HubErrorKind::invalid_name);
  CHECK(kind_of("org/repo/model.bin") == HubErrorKind::invalid_name);
  CHECK(kind_of("org/repo/model.gguf:Q8_0") == HubErrorKind::invalid_name);
  CHECK(kind_of(std::string(50, 'a') + "/" + std::string(50, 'b')) == HubErrorKind::invalid_name);  // > 96
  CHECK_THROWS_WITH(parse_model_name("just-a-name"), ContainsSubstring("ORG/REPO:QUANT"));
}

TEST_CASE("Repository paths that would leave the snapshot folder are refused", "[hub]") {
  CHECK(is_safe_repo_path("a/b/model.gguf"));
  CHECK_FALSE(is_safe_repo_path("../model.gguf"));
  CHECK_FALSE(is_safe_repo_path("a/../../model.gguf"));
  CHECK_FALSE(is_safe_repo_path("/etc/passwd"));
  CHECK_FALSE(is_safe_repo_path("a//b"));
  CHECK_FALSE(is_safe_repo_path("a\\b"));
  CHECK_FALSE(is_safe_repo_path("a/./b"));
  CHECK_FALSE(is_safe_repo_path(""));
}

TEST_CASE("The quant rule picks the file llama.cpp's -hf picks", "[hub]") {
  const std::vector<std::string> repo = {
      "README.md",
      "Model-F16.gguf",
      "Model-IQ2_K.gguf",
      "Model-Q2_K.gguf",
      "Model-Q4_K_M.gguf",
      "Model-Q8_0.gguf",
      "mmproj-Model-Q4_K_M.gguf",
      "Model-Q6_K-00002-of-00002.gguf",
      "Model-Q6_K-00001-of-00002.gguf",
      "imatrix-Q4_K_M.gguf",
  };
  CHECK(choose_model_file(repo, "Q4_K_M") == "Model-Q4_K_M.gguf");  // never the projector or imatrix
  CHECK(choose_model_file(repo, "q8_0") == "Model-Q8_0.gguf");      // any case
  CHECK(choose_model_file(repo, "Q2_K") == "Model-Q2_K.gguf");      // never IQ2_K
  CHECK(choose_model_file(repo, "IQ2_K") == "Model-IQ2_K.gguf");
  CHECK(choose_model_file(repo, "Q6_K") == "Model-Q6_K-00001-of-00002.gguf");  // a split: its first part
  CHECK(choose_model_file(repo, "Q5_K_M") == std::nullopt);
  CHECK(choose_model_file(repo, "") == "Model-Q4_K_M.gguf");  // the default

  const std::vector<std::string> no_q4 = {"Model-Q8_0.gguf", "Model-F16.gguf"};
  CHECK(choose_model_file(no_q4, "") == "Model-Q8_0.gguf");  // then Q8_0
  const std::vector<std::string> neither = {"b-F16.gguf", "a-BF16.gguf", "mmproj-a.gguf"};
  CHECK(choose_model_file(neither, "") == "a-BF16.gguf");  // then the first model file
  CHECK(choose_model_file(neither, "", false) == std::nullopt);
  // Quants in folders and with '.' before them, as some repositories name them.
  CHECK(choose_model_file({"Q4_K_M/Model.Q4_K_M-00001-of-00003.gguf"}, "q4_k_m") ==
        "Q4_K_M/Model.Q4_K_M-00001-of-00003.gguf");

  CHECK(split_parts(repo, "Model-Q6_K-00001-of-00002.gguf") ==
        std::vector<std::string>{"Model-Q6_K-00001-of-00002.gguf", "Model-Q6_K-00002-of-00002.gguf"});
  CHECK(split_parts(repo, "Model-Q8_0.gguf") == std::vector<std::string>{"Model-Q8_0.gguf"});
  CHECK_THROWS_WITH(split_parts({"m-00001-of-00003.gguf", "m-00003-of-00003.gguf"}, "m-00001-of-00003.gguf"),
                    ContainsSubstring("part 2 (m-00002-of-00003.gguf)"));

  CHECK(quant_tag("Llama-3.2-1B-Instruct-Q4_K_M.gguf") == "Q4_K_M");
  CHECK(quant_tag("dir/model.q8_0-00001-of-00002.gguf") == "Q8_0");
  CHECK(quant_tag("stories260K.gguf") == "");
  CHECK(available_quants(repo) == std::vector<std::string>{"F16", "IQ2_K", "Q2_K", "Q4_K_M", "Q6_K", "Q8_0"});
}

TEST_CASE("The Hub's variables: HF_HUB_CACHE, HF_HOME, HF_ENDPOINT, HF_TOKEN and the token file", "[hub]") {
  testing::TempDir dir;
  EnvGuard env;
  for (const char* name : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
                           "HF_TOKEN_PATH", "HF_ENDPOINT", "HF_HUB_OFFLINE", "XDG_CACHE_HOME"}) {
    env.set(name, nullptr);
  }
  env.set("HOME", dir.file("home").c_str());
  env.set("HF_HOME", nullptr);
  HubConfig c = HubConfig::from_environment();
  CHECK(c.endpoint == "https://huggingface.co");
  CHECK(c.cache_dir == dir.file("home") + "/.cache/huggingface/hub");
  CHECK(c.token.empty());
  CHECK_FALSE(c.offline);

  env.set("XDG_CACHE_HOME", dir.file("xdg").c_str());
  CHECK(HubConfig::from_environment().cache_dir == dir.file("xdg") + "/huggingface/hub");

  env.set("HF_HOME", dir.file("hf").c_str());
  std::filesystem::create_directories(dir.file("hf"));
  std::ofstream(dir.file("hf") + "/token") << "hf_FromTheTokenFile\n";
  env.set("HF_ENDPOINT", "http://127.0.0.1:9/");
  env.set("HF_HUB_OFFLINE", "yes");
  c = HubConfig::from_environment();
  CHECK(c.cache_dir == dir.file("hf") + "/hub");
  CHECK(c.endpoint == "http://127.0.0.1:9");
  CHECK(c.token == "hf_FromTheTokenFile");
  CHECK_THAT(c.token_source, ContainsSubstring(dir.file("hf") + "/token"));
  CHECK(c.offline);

  env.set("HF_HUB_CACHE", dir.file("cache").c_str());
  env.set("HF_TOKEN", "hf_FromTheEnvironment");
  env.set("HF_HUB_OFFLINE", "0");
  c = HubConfig::from_environment();
  CHECK(c.cache_dir == dir.file("cache"));
  CHECK(c.token == "hf_FromTheEnvironment");
  CHECK(c.token_source == "HF_TOKEN");
  CHECK_FALSE(c.offline);
}

TEST_CASE("Cache folder names follow the Hub's layout", "[hub]") {
  CHECK(HubCache::repo_folder("bartowski/Llama-3.2-1B-Instruct-GGUF") ==
        "models--bartowski--Llama-3.2-1B-Instruct-GGUF");
  const HubCache cache("/c");
  const std::string etag(64, 'a');
  CHECK(cache.blob_path("o/r", etag) == "/c/models--o--r/blobs/" + etag);
  CHECK(cache.incomplete_path("o/r", etag) == "/c/models--o--r/blobs/" + etag + ".incomplete");
  CHECK(cache.lock_path("o/r", etag) == "/c/.locks/models--o--r/" + etag + ".lock");
  CHECK(cache.snapshot_path("o/r", std::string(40, 'b'), "d/m.gguf") ==
        "/c/models--o--r/snapshots/" + std::string(40, 'b') + "/d/m.gguf");
}

TEST_CASE("Downloads are checked with the hashes the Hub names files by", "[hub]") {
  // The SHA-256 ../shared/models/README.md lists for stories260K.gguf (an independent record).
  CHECK(sha256_file(testing::shared_file("models/stories260K.gguf")) ==
        "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
  // `printf 'hello\n' | git hash-object --stdin`: Git's id of that blob.
  ContentDigest git(DigestKind::git_blob_sha1, 6);
  git.update("hello\n", 6);
  CHECK(git.hex() == "ce013625030ba8dba906f756967f9e9ca394464a");
  // FIPS 180-2's example: SHA-256("abc"), fed in two pieces as a download arrives.
  ContentDigest sha(DigestKind::sha256, 3);
  sha.update("a", 1);
  sha.update("bc", 2);
  CHECK(sha.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest_kind_of_etag(std::string(64, 'f')) == DigestKind::sha256);
  CHECK(digest_kind_of_etag(std::string(40, '0')) == DigestKind::git_blob_sha1);
  CHECK_THROWS_AS(digest_kind_of_etag("\"W/abc\""), HubError);
}
