#include "engine/core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vkgraph::log {
namespace {

Level initial_level() {
  // VKGRAPH_LOG=debug|info|warn|error|quiet lets an embedding app or a user turn it up or off.
  const char* env = std::getenv("VKGRAPH_LOG");
  if (env == nullptr) return Level::warn;
  if (std::strcmp(env, "debug") == 0) return Level::debug;
  if (std::strcmp(env, "info") == 0) return Level::info;
  if (std::strcmp(env, "error") == 0) return Level::error;
  if (std::strcmp(env, "quiet") == 0) return Level::quiet;
  return Level::warn;
}

std::atomic<Level> current{initial_level()};

}  // namespace

void set_level(Level l) { current.store(l); }
Level level() { return current.load(); }

void write(Level l, std::string_view message) {
  static constexpr const char* prefix[] = {"debug: ", "", "warning: ", "error: ", ""};
  std::fprintf(stderr, "%s%.*s\n", prefix[static_cast<int>(l)], static_cast<int>(message.size()), message.data());
}

}  // namespace vkgraph::log
