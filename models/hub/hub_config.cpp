#include "models/hub/hub_config.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/hub/hub_error.h"

namespace vkgraph::hub {
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

std::string trim(std::string s) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), space));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), space).base(), s.end());
  return s;
}

std::filesystem::path home_dir() {
  if (const std::string home = env("HOME"); !home.empty()) return home;
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr) return pw->pw_dir;
  throw HubError(HubErrorKind::disk,
                 "cannot find the Hugging Face cache: HOME is not set; set HF_HUB_CACHE or HF_HOME to a folder");
}

std::filesystem::path hf_home() {
  if (const std::string home = env("HF_HOME"); !home.empty()) return home;
  if (const std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) return std::filesystem::path(xdg) / "huggingface";
  return home_dir() / ".cache" / "huggingface";
}

}  // namespace

bool env_flag_is_true(const char* value) {
  if (value == nullptr) return false;
  std::string v = trim(value);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  return v == "1" || v == "ON" || v == "YES" || v == "TRUE";
}

HubConfig HubConfig::from_environment() {
  HubConfig config;
  if (std::string endpoint = env("HF_ENDPOINT"); !endpoint.empty()) {
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    config.endpoint = endpoint;
  }
  if (const std::string cache = env("HF_HUB_CACHE"); !cache.empty()) {
    config.cache_dir = cache;
  } else if (const std::string legacy = env("HUGGINGFACE_HUB_CACHE"); !legacy.empty()) {
    config.cache_dir = legacy;
  } else {
    config.cache_dir = (hf_home() / "hub").string();
  }
  const std::string token_path = env("HF_TOKEN_PATH");
  config.token_file = !token_path.empty() ? token_path : (hf_home() / "token").string();
  if (std::string token = trim(env("HF_TOKEN")); !token.empty()) {
    config.token = token;
    config.token_source = "HF_TOKEN";
  } else if (std::string legacy = trim(env("HUGGING_FACE_HUB_TOKEN")); !legacy.empty()) {
    config.token = legacy;
    config.token_source = "HUGGING_FACE_HUB_TOKEN";
  } else if (std::ifstream file(config.token_file); file) {
    std::stringstream text;
    text << file.rdbuf();
    config.token = trim(text.str());
    if (!config.token.empty()) config.token_source = "the token file " + config.token_file;
  }
  config.offline = env_flag_is_true(std::getenv("HF_HUB_OFFLINE"));
  return config;
}

}  // namespace vkgraph::hub
