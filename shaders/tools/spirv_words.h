#pragma once
// A SPIR-V file as its 32-bit words, for the build-time shader checks (tools/check_*.cpp).

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace vkgraph::tools {

inline std::vector<uint32_t> read_spirv_words(const std::string& path) {
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

}  // namespace vkgraph::tools
