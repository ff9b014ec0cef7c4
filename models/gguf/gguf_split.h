#pragma once
// Split GGUF models: one model stored as N files named PREFIX-00001-of-0000N.gguf ...
// PREFIX-0000N-of-0000N.gguf (llama.cpp's gguf-split convention). Every part carries
// `split.no` (0-based, u16), `split.count` (u16) and `split.tensors.count` (the model's total,
// i32); the first part holds all the other metadata. Large models on the Hugging Face Hub come
// this way, since the Hub limits the size of one file.

#include <optional>
#include <string>
#include <string_view>

#include "models/gguf/gguf_reader.h"

namespace vkgraph::gguf {

// Where a file name says it sits in a split: "m-00002-of-00003.gguf" -> {prefix "m", part 2, count 3}.
struct SplitName {
  std::string prefix;  // everything before "-NNNNN-of-MMMMM.gguf"
  int part = 1;        // 1-based, as in the name
  int count = 1;
};
// std::nullopt when the name does not end in -NNNNN-of-MMMMM.gguf with 1 <= NNNNN <= MMMMM.
std::optional<SplitName> parse_split_name(std::string_view path);
// PREFIX-NNNNN-of-MMMMM.gguf for part `part` (1-based) of `count`.
std::string split_part_name(std::string_view prefix, int part, int count);

// Opens a model file. A file without `split.count` (or with 1) is opened as GgufFile::open does.
// The first part of a split model opens every part beside it and returns one GgufFile whose
// metadata is the first part's and whose tensors() and data() span all parts. Throws an Error
// naming the file when a part is missing, is not the part its name says, repeats a tensor, or
// when the parts do not hold `split.tensors.count` tensors; and when `path` is a later part.
GgufFile open_split_model(const std::string& path);

}  // namespace vkgraph::gguf
