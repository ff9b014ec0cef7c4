// Build tool: every shader variant's SPIR-V must take its workgroup size from specialization
// constant 0 (layout(local_size_x_id = 0), shaders/common/grid.glsl), which the host sets to the
// kernel table row's size. A kernel without it runs one invocation per workgroup: wrong for any
// kernel striding by its workgroup, and undefined for subgroup-scope (cooperative-matrix) ops.
// Fails the build naming the variant and what it declares.
//
// usage: vkgraph_check_local_size MANIFEST STAMP (the manifest of check_push_constants.cpp:
// name, .spv path, push struct per line; STAMP is written when every variant passes).

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backend/vulkan/spirv_interface.h"
#include "engine/core/error.h"

namespace {

std::vector<uint32_t> read_words(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  VKGRAPH_CHECK(in.good(), "{}: cannot open", path);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  VKGRAPH_CHECK(bytes.size() % 4 == 0, "{}: {} bytes, not whole 32-bit words", path, bytes.size());
  std::vector<uint32_t> words(bytes.size() / 4);
  for (size_t i = 0; i < words.size(); ++i) {
    const auto b = [&](size_t k) { return uint32_t(uint8_t(bytes[4 * i + k])); };
    words[i] = b(0) | b(1) << 8 | b(2) << 16 | b(3) << 24;  // SPIR-V files are little-endian
  }
  return words;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MANIFEST STAMP\n", argv[0]);
    return 2;
  }
  try {
    std::ifstream manifest(argv[1]);
    VKGRAPH_CHECK(manifest.good(), "{}: cannot open", argv[1]);
    std::string line;
    int bad = 0, checked = 0;
    while (std::getline(manifest, line)) {
      if (line.empty()) continue;
      std::istringstream fields(line);
      std::string name, spv;
      std::getline(fields, name, '\t');
      std::getline(fields, spv, '\t');
      const std::string problem =
          vkgraph::vk::local_size_problem(vkgraph::vk::reflect_interface(read_words(spv), name));
      ++checked;
      if (!problem.empty()) {
        std::fprintf(stderr, "shader %s: %s\n", name.c_str(), problem.c_str());
        ++bad;
      }
    }
    if (bad > 0) {
      std::fprintf(stderr, "%d of %d shader variants declare their workgroup size wrongly\n", bad, checked);
      return 1;
    }
    std::ofstream(argv[2]) << checked << " variants checked\n";
    return 0;
  } catch (const vkgraph::Error& e) {
    std::fprintf(stderr, "vkgraph_check_local_size: %s\n", e.what());
    return 1;
  }
}
