// Opening a split GGUF model: the first part's header, then each later part's, checked against
// the split keys and merged into one tensor table.

#include "models/gguf/gguf_split.h"

#include <filesystem>

#include "engine/core/error.h"

namespace vkgraph::gguf {
namespace {

constexpr std::string_view kSplitNo = "split.no";
constexpr std::string_view kSplitCount = "split.count";
constexpr std::string_view kSplitTensors = "split.tensors.count";

// The five-digit fields of the name (gguf-split writes %05d), so at most 99999 parts.
constexpr int kMaxParts = 99999;

bool parse_five_digits(std::string_view s, int& out) {
  if (s.size() != 5) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

}  // namespace

std::optional<SplitName> parse_split_name(std::string_view path) {
  // "-NNNNN-of-MMMMM.gguf" is 20 characters; a prefix of at least one character precedes it.
  constexpr std::string_view kSuffixShape = "-00000-of-00000.gguf";
  if (path.size() <= kSuffixShape.size()) return std::nullopt;
  const std::string_view tail = path.substr(path.size() - kSuffixShape.size());
  if (tail[0] != '-' || tail.substr(6, 4) != "-of-" || tail.substr(15) != ".gguf") return std::nullopt;
  SplitName name;
  if (!parse_five_digits(tail.substr(1, 5), name.part) || !parse_five_digits(tail.substr(10, 5), name.count)) {
    return std::nullopt;
  }
  if (name.part < 1 || name.part > name.count) return std::nullopt;
  name.prefix = std::string(path.substr(0, path.size() - kSuffixShape.size()));
  return name;
}

std::string split_part_name(std::string_view prefix, int part, int count) {
  return fmt::format("{}-{:05}-of-{:05}.gguf", prefix, part, count);
}

GgufFile open_split_model(const std::string& path) {
  GgufFile first = GgufFile::open(path);
  const uint32_t count = first.find_u32(kSplitCount).value_or(1);
  const uint32_t number = first.find_u32(kSplitNo).value_or(0);
  if (count <= 1 && number == 0) return first;

  VKGRAPH_CHECK(count <= kMaxParts, "{}: split.count is {}, more than the {} parts a split name can number", path,
                count, kMaxParts);
  VKGRAPH_CHECK(number < count, "{}: split.no is {} but split.count is {} (split.no counts from 0)", path, number,
                count);
  const std::optional<SplitName> name = parse_split_name(path);
  if (number != 0) {
    const std::string first_name = name ? split_part_name(name->prefix, 1, int(count)) : "the -00001-of- file";
    fail("{}: this is part {} of {} of a split model; open its first part, {}", path, number + 1, count, first_name);
  }
  VKGRAPH_CHECK(name && name->part == 1 && name->count == int(count),
                "{}: split.count is {}, but the name does not end in -00001-of-{:05}.gguf, so the other parts "
                "cannot be found (split models are named PREFIX-NNNNN-of-MMMMM.gguf)",
                path, count, count);

  first.other_parts_.reserve(count - 1);
  for (uint32_t i = 1; i < count; ++i) {
    const std::string part_path = split_part_name(name->prefix, int(i) + 1, int(count));
    std::error_code ec;
    VKGRAPH_CHECK(std::filesystem::exists(part_path, ec), "{}: part {} of {} of this split model, {}, is missing", path,
                  i + 1, count, part_path);
    GgufFile part = GgufFile::open(part_path);
    const std::optional<uint32_t> part_count = part.find_u32(kSplitCount);
    const std::optional<uint32_t> part_number = part.find_u32(kSplitNo);
    VKGRAPH_CHECK(part_count == count && part_number == i,
                  "{}: split.no {} of split.count {} in this file, expected {} of {} (part {} of {} by its name)",
                  part_path, part_number ? fmt::to_string(*part_number) : "absent",
                  part_count ? fmt::to_string(*part_count) : "absent", i, count, i + 1, count);
    for (TensorInfo& tensor : part.tensors_) {
      if (const TensorInfo* seen = first.find_tensor(tensor.name)) {
        fail("{}: tensor '{}' is also in part {} ({})", part_path, tensor.name, seen->part + 1,
             seen->part == 0 ? path : first.other_parts_[seen->part - 1].path());
      }
      tensor.part = i;
      first.tensor_index_.emplace(tensor.name, first.tensors_.size());
      first.tensors_.push_back(tensor);
    }
    first.other_parts_.push_back(std::move(part));
  }
  if (const std::optional<int32_t> expected = first.find_i32(kSplitTensors)) {
    VKGRAPH_CHECK(*expected >= 0 && size_t(*expected) == first.tensors_.size(),
                  "{}: split.tensors.count is {}, but the {} parts hold {} tensors", path, *expected, count,
                  first.tensors_.size());
  }
  return first;
}

}  // namespace vkgraph::gguf
