#pragma once
// A read-only, memory-mapped GGUF file (versions 2 and 3). Everything the header says is checked
// before use: counts, string and array lengths, tensor ranks, dimensions, types, alignment and
// data ranges (inside the file, aligned, not overlapping). A file that fails any check throws a
// vkgraph::Error whose message starts with the file's path and names the problem.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/core/dtype.h"
#include "models/gguf/gguf_value.h"

namespace vkgraph::gguf {

// GGML tensor type ids (ggml.h `enum ggml_type`) of the weight types the engine can use: the
// ggml_id column of engine/core/weight_types.def. Others are refused by name, with the list of
// the supported ones.
std::optional<DType> dtype_from_ggml_type(uint32_t ggml_type);
uint32_t ggml_type_from_dtype(DType type);       // throws for I32, which GGUF weights never use here
std::string ggml_type_name(uint32_t ggml_type);  // "q4_K", or "type 99" when unknown

inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr uint32_t kMaxDims = 4;

struct TensorInfo {
  std::string name;
  DType type;
  uint32_t ggml_type;
  std::vector<int64_t> shape;  // outermost first: GGUF ne = {n_in, n_out} -> {n_out, n_in}
  int64_t elements;
  uint64_t offset;  // absolute offset of the first byte in the file
  uint64_t bytes;
  // The file of a split model that holds the bytes (0: the first part; see gguf_split.h).
  uint32_t part = 0;
};

struct MetadataEntry {
  std::string key;
  Value value;
};

class GgufFile {
 public:
  // Maps and validates the file. Throws Error("<path>: <problem>") on any defect.
  static GgufFile open(const std::string& path);

  GgufFile(GgufFile&&) noexcept;
  GgufFile& operator=(GgufFile&&) noexcept;
  ~GgufFile();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t file_size() const { return size_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the aligned data section

  // ---- metadata, in file order ----
  const std::vector<MetadataEntry>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;  // nullptr when absent
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed accessors. Integer getters accept any integer type whose value fits the asked type
  // (converters disagree on u32 vs u64 for counts); float getters accept f32 and f64. A missing
  // key or a wrong type throws, naming the file, the key, the expected and the actual type.
  uint32_t get_u32(std::string_view key) const;
  int32_t get_i32(std::string_view key) const;
  uint64_t get_u64(std::string_view key) const;
  float get_f32(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;

  // Optional variants: std::nullopt when the key is absent; a present key of the wrong type
  // still throws (a wrong type is a broken file, not a default).
  std::optional<uint32_t> find_u32(std::string_view key) const;
  std::optional<int32_t> find_i32(std::string_view key) const;
  std::optional<uint64_t> find_u64(std::string_view key) const;
  std::optional<float> find_f32(std::string_view key) const;
  std::optional<bool> find_bool(std::string_view key) const;
  std::optional<std::string> find_string(std::string_view key) const;

  // Arrays. The numeric ones convert from any integer (resp. f32/f64) element type that fits.
  const Array& get_array(std::string_view key) const;
  const std::vector<std::string>& get_string_array(std::string_view key) const;
  std::vector<int32_t> get_i32_array(std::string_view key) const;
  std::vector<float> get_f32_array(std::string_view key) const;

  // `general.architecture`; the model loader refuses names it does not know.
  std::string architecture() const { return get_string("general.architecture"); }

  // ---- tensors, in file order ----
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;  // nullptr when absent
  const TensorInfo& tensor(std::string_view name) const;       // throws naming the file and tensor
  // The tensor's bytes inside the mapping: valid while this GgufFile lives; `tensor` must be
  // one of this file's tensors().
  std::span<const std::byte> data(const TensorInfo& tensor) const;

  // Parts 2..N of a split model opened with open_split_model() (gguf_split.h); their tensors are
  // listed in tensors() with TensorInfo::part set, and data() reads them from here.
  const std::vector<GgufFile>& other_parts() const { return other_parts_; }

 private:
  GgufFile() = default;
  friend class GgufParser;
  friend GgufFile open_split_model(const std::string& path);

  std::string path_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t size_ = 0;
  uint64_t data_offset_ = 0;
  const std::byte* base_ = nullptr;  // the mapping; null for an empty file
  std::vector<MetadataEntry> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  std::vector<GgufFile> other_parts_;
};

}  // namespace vkgraph::gguf
