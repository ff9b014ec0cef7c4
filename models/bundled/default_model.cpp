#include "models/bundled/default_model.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "engine/core/error.h"

namespace vkgraph::models {
namespace {

std::filesystem::path executable_dir() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : self.parent_path();
}

}  // namespace

std::string default_model_path() {
  std::vector<std::filesystem::path> candidates;
  if (const char* env = std::getenv("VKGRAPH_DEFAULT_MODEL"); env != nullptr && *env != '\0') {
    candidates.emplace_back(env);
  }
  if (const auto dir = executable_dir(); !dir.empty()) {
    candidates.push_back(dir / ".." / "share" / "vkgraph" / "stories260K.gguf");
  }
  candidates.emplace_back(VKGRAPH_BUNDLED_MODEL_SOURCE);
  std::string tried;
  for (const auto& path : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return path.lexically_normal().string();
    tried += "\n  " + path.lexically_normal().string();
  }
  fail("the bundled default model was not found; looked at:{}\ngive a model with -m FILE", tried);
}

}  // namespace vkgraph::models
