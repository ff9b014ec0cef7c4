// The layering ARCHITECTURE.md promises, checked over the sources: models/, the CLI, the C API
// and the examples reach backends only through the engine's registry (engine/backend/registry.h)
// and never include a backend's own header; the one exception is `vkgraph devices`
// (cli/cmd_devices*), which prints the full Vulkan probe. The graph and the core include no
// backend at all.

#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Rule {
  std::string folder;                  // relative to the source tree
  std::vector<std::string> forbidden;  // include prefixes
  std::string exception;               // a path prefix the rule does not apply to
};

bool is_source(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".cpp" || ext == ".h" || ext == ".hpp" || ext == ".c" || ext == ".cu" || ext == ".cuh";
}

// "path:line: #include ..." for every include of a forbidden prefix under the rule's folder.
std::vector<std::string> violations(const fs::path& root, const Rule& rule) {
  std::vector<std::string> found;
  const fs::path folder = root / rule.folder;
  REQUIRE(fs::is_directory(folder));
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(folder)) {
    if (!e.is_regular_file() || !is_source(e.path())) continue;
    const std::string rel = fs::relative(e.path(), root).generic_string();
    if (!rule.exception.empty() && rel.rfind(rule.exception, 0) == 0) continue;
    std::ifstream in(e.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      const size_t inc = line.find("#include");
      if (inc == std::string::npos) continue;
      for (const std::string& prefix : rule.forbidden) {
        if (line.find("\"" + prefix, inc) != std::string::npos || line.find("<" + prefix, inc) != std::string::npos) {
          found.push_back(rel + ":" + std::to_string(n) + ": " + line);
        }
      }
    }
  }
  return found;
}

}  // namespace

TEST_CASE("layering: only the registry is seen above the engine, and the graph sees no backend", "[layering]") {
  const fs::path root = VKGRAPH_SOURCE_DIR;
  const std::vector<std::string> backends = {"engine/backend/vulkan/", "engine/backend/cuda/", "engine/backend/cpu/"};
  const std::vector<Rule> rules = {
      {"models", backends, ""},   {"cli", backends, "cli/cmd_devices"},      {"include", backends, ""},
      {"examples", backends, ""}, {"engine/graph", {"engine/backend/"}, ""}, {"engine/core", {"engine/backend/"}, ""},
  };
  for (const Rule& rule : rules) {
    for (const std::string& v : violations(root, rule)) {
      INFO(v);
      CHECK(false);
    }
  }
  // The check itself sees the one file that may include a backend header.
  CHECK(!violations(root, {"cli", backends, ""}).empty());
}
