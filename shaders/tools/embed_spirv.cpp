// Build tool: turns one .spv file into a C++ source holding its words as an EmbeddedShader.
// usage: vkgraph_embed_spirv NAME IN.spv OUT.cpp NEEDS_COOPMAT(0|1) PUSH_STRUCT(- for none)

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s NAME IN.spv OUT.cpp NEEDS_COOPMAT PUSH_STRUCT\n", argv[0]);
    return 2;
  }
  const std::string name = argv[1];
  const std::string push = std::string(argv[5]) == "-" ? "" : argv[5];
  std::ifstream in(argv[2], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s: cannot open\n", argv[2]);
    return 1;
  }
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // SPIR-V is a stream of little-endian 32-bit words starting with the magic 0x07230203.
  if (bytes.size() < 20 || bytes.size() % 4 != 0 || bytes[0] != 0x03 || bytes[3] != 0x07) {
    std::fprintf(stderr, "%s: not a SPIR-V module\n", argv[2]);
    return 1;
  }
  std::string id = name;
  for (char& c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '_';
  }
  std::ofstream out(argv[3]);
  out << "// Generated from " << argv[2] << "\n#include \"shaders/embedded.h\"\n"
      << "namespace vkgraph::shaders {\nnamespace {\nconst uint32_t words[] = {";
  for (size_t i = 0; i < bytes.size(); i += 4) {
    const uint32_t word =
        uint32_t(bytes[i]) | uint32_t(bytes[i + 1]) << 8 | uint32_t(bytes[i + 2]) << 16 | uint32_t(bytes[i + 3]) << 24;
    out << (i % 32 == 0 ? "\n  " : " ") << word << "u,";
  }
  out << "};\n}  // namespace\nextern const EmbeddedShader shader_" << id << ";\nconst EmbeddedShader shader_" << id
      << "{\"" << name << "\", words, " << (argv[4][0] == '1' ? "true" : "false") << ", \"" << push << "\"};\n"
      << "}  // namespace vkgraph::shaders\n";
  return out.good() ? 0 : 1;
}
