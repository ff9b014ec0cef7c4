#pragma once
// Split GGUF models for tests, written with our GGUF writer the way llama.cpp's gguf-split
// writes them.

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_writer.h"

namespace vkgraph::testing {

// Writes `in` as a split model of `parts` files PREFIX-0000i-of-0000N.gguf, as llama.cpp's
// gguf-split does: all metadata in the first part, split.no / split.count / split.tensors.count
// in each, the tensors in file order spread over the parts. `tweak` may change a part before it
// is written (the tests of broken splits). Returns the paths.
inline std::vector<std::string> write_split_model(
    const std::string& in, const std::string& prefix, int parts,
    const std::function<void(int part, gguf::GgufWriter& writer)>& tweak = {}) {
  const gguf::GgufFile file = gguf::GgufFile::open(in);
  const auto& tensors = file.tensors();
  std::vector<std::string> paths;
  const size_t per_part = (tensors.size() + size_t(parts) - 1) / size_t(parts);
  for (int p = 0; p < parts; ++p) {
    gguf::GgufWriter writer;
    if (p == 0) {
      for (const auto& entry : file.metadata()) {
        if (entry.key != "general.alignment") writer.set(entry.key, entry.value);
      }
    }
    writer.set("split.no", gguf::Value(uint16_t(p)));
    writer.set("split.count", gguf::Value(uint16_t(parts)));
    writer.set("split.tensors.count", gguf::Value(int32_t(tensors.size())));
    for (size_t i = size_t(p) * per_part; i < std::min(tensors.size(), size_t(p + 1) * per_part); ++i) {
      const auto bytes = file.data(tensors[i]);
      writer.add_tensor(tensors[i].name, tensors[i].type, tensors[i].shape,
                        std::vector<std::byte>(bytes.begin(), bytes.end()));
    }
    if (tweak) tweak(p, writer);
    paths.push_back(prefix + fmt::format("-{:05}-of-{:05}.gguf", p + 1, parts));
    writer.write(paths.back());
  }
  return paths;
}

}  // namespace vkgraph::testing
