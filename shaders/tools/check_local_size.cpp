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
#include <sstream>
#include <string>
#include <vector>

#include "engine/backend/vulkan/spirv_interface.h"
#include "engine/core/error.h"
#include "shaders/tools/spirv_words.h"

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
          vkgraph::vk::local_size_problem(vkgraph::vk::reflect_interface(vkgraph::tools::read_spirv_words(spv), name));
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
