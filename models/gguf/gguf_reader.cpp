// The GGUF reader: maps the file read-only, parses the header with every length checked against
// the bytes that remain, then validates the tensor table against the data section.

#include "models/gguf/gguf_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <numeric>
#include <utility>

#include "engine/core/error.h"
#include "models/gguf/checked_math.h"

static_assert(std::endian::native == std::endian::little, "GGUF files are little-endian; so must the host be");

namespace vkgraph::gguf {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32

// Names of the ggml types a file may carry, by id, for messages about the ones we refuse
// (ggml.h `enum ggml_type`; ids 4 and 5 were removed formats).
constexpr const char* kGgmlTypeNames[] = {"f32",
                                          "f16",
                                          "q4_0",
                                          "q4_1",
                                          "q4_2 (removed)",
                                          "q4_3 (removed)",
                                          "q5_0",
                                          "q5_1",
                                          "q8_0",
                                          "q8_1",
                                          "q2_K",
                                          "q3_K",
                                          "q4_K",
                                          "q5_K",
                                          "q6_K",
                                          "q8_K",
                                          "iq2_xxs",
                                          "iq2_xs",
                                          "iq3_xxs",
                                          "iq1_s",
                                          "iq4_nl",
                                          "iq3_s",
                                          "iq2_s",
                                          "iq4_xs",
                                          "i8",
                                          "i16",
                                          "i32",
                                          "i64",
                                          "f64",
                                          "iq1_m",
                                          "bf16",
                                          "q4_0_4_4 (removed)",
                                          "q4_0_4_8 (removed)",
                                          "q4_0_8_8 (removed)",
                                          "tq1_0",
                                          "tq2_0",
                                          "iq4_nl_4_4 (removed)",
                                          "iq4_nl_4_8 (removed)",
                                          "iq4_nl_8_8 (removed)",
                                          "mxfp4"};

}  // namespace

std::optional<DType> dtype_from_ggml_type(uint32_t ggml_type) {
  const std::optional<DType> type = dtype_from_ggml_id(ggml_type);
  if (type && is_weight_type(*type)) return type;
  return std::nullopt;
}

uint32_t ggml_type_from_dtype(DType type) {
  if (!is_weight_type(type)) fail("GGUF: element type {} has no GGUF tensor type here", dtype_name(type));
  return dtype_info(type).ggml_id;
}

std::string ggml_type_name(uint32_t ggml_type) {
  if (ggml_type < std::size(kGgmlTypeNames)) return kGgmlTypeNames[ggml_type];
  return fmt::format("type {}", ggml_type);
}

// Reads the header of a mapped file into a GgufFile. Each read checks the bytes that remain.
class GgufParser {
 public:
  GgufParser(GgufFile& file) : file_(file), data_(file.base_), size_(file.size_) {}

  void parse() {
    const uint32_t magic = read_u32("magic");
    if (magic != kMagic) {
      fail("{}: not a GGUF file (magic bytes {:02x} {:02x} {:02x} {:02x}, expected \"GGUF\")", file_.path_,
           magic & 0xff, (magic >> 8) & 0xff, (magic >> 16) & 0xff, magic >> 24);
    }
    const uint32_t version = read_u32("version");
    if (version == 1) fail("{}: GGUF version 1 is not supported (versions 2 and 3 are)", file_.path_);
    if (version != 2 && version != 3) {
      if (__builtin_bswap32(version) == 2 || __builtin_bswap32(version) == 3) {
        fail("{}: GGUF file is big-endian (version {} byte-swapped); only little-endian files are supported",
             file_.path_, __builtin_bswap32(version));
      }
      fail("{}: unsupported GGUF version {} (versions 2 and 3 are supported)", file_.path_, version);
    }
    file_.version_ = version;

    const uint64_t n_tensors = read_u64("tensor count");
    const uint64_t n_kv = read_u64("metadata count");
    // Each metadata entry takes at least 13 bytes (key length, type, one byte of value) and each
    // tensor entry at least 32 (name length, rank, one dimension, type, offset): a count beyond
    // what the rest of the file could hold is refused before anything is allocated for it.
    if (n_kv > remaining() / 13) {
      fail("{}: metadata count {} is larger than the file ({} bytes) could hold", file_.path_, n_kv, size_);
    }
    if (n_tensors > remaining() / 32) {
      fail("{}: tensor count {} is larger than the file ({} bytes) could hold", file_.path_, n_tensors, size_);
    }

    file_.metadata_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) read_kv(i);
    read_alignment();

    std::vector<uint64_t> relative_offsets;
    file_.tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) relative_offsets.push_back(read_tensor_info(i));

    uint64_t data_offset = 0;
    if (!checked_align_up(pos_, file_.alignment_, data_offset)) {
      fail("{}: data section offset overflows", file_.path_);
    }
    // A file with no tensors may end right after its header, before the alignment padding.
    if (data_offset > size_ && n_tensors > 0) {
      fail("{}: data section would start at {}, past the end of the file (size {})", file_.path_, data_offset, size_);
    }
    file_.data_offset_ = data_offset;
    place_tensors(relative_offsets);
  }

 private:
  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t bytes, std::string_view what) {
    if (bytes > remaining()) {
      fail("{}: file truncated: {} needs {} bytes at offset {}, but the file ends at {}", file_.path_, what, bytes,
           pos_, size_);
    }
  }

  template <typename T>
  T read_scalar(std::string_view what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  uint32_t read_u32(std::string_view what) { return read_scalar<uint32_t>(what); }
  uint64_t read_u64(std::string_view what) { return read_scalar<uint64_t>(what); }

  std::string read_string(std::string_view what) {
    const uint64_t length = read_u64(what);
    if (length > remaining()) {
      fail("{}: {} has length {} at offset {}, past the end of the file (size {})", file_.path_, what, length, pos_ - 8,
           size_);
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), length);
    pos_ += length;
    return s;
  }

  bool read_bool(std::string_view what) {
    const uint8_t b = read_scalar<uint8_t>(what);
    if (b > 1) fail("{}: {} holds bool value {} at offset {} (expected 0 or 1)", file_.path_, what, b, pos_ - 1);
    return b != 0;
  }

  ValueType read_type(std::string_view what) {
    const uint32_t type = read_u32(what);
    if (type >= kValueTypeCount) {
      fail("{}: {} has unknown value type {} (expected 0..{})", file_.path_, what, type, kValueTypeCount - 1);
    }
    return ValueType(type);
  }

  template <typename T>
  std::vector<T> read_fixed_array(uint64_t count, std::string_view what) {
    if (count > remaining() / sizeof(T)) {
      fail("{}: {} has {} elements of {} bytes, past the end of the file (size {})", file_.path_, what, count,
           sizeof(T), size_);
    }
    std::vector<T> out(count);
    if (count) std::memcpy(out.data(), data_ + pos_, count * sizeof(T));
    pos_ += count * sizeof(T);
    return out;
  }

  Array read_array(const std::string& what) {
    const ValueType element = read_type(what + " element type");
    const uint64_t count = read_u64(what + " length");
    Array array;
    switch (element) {
      case ValueType::U8:
        array.elements = read_fixed_array<uint8_t>(count, what);
        break;
      case ValueType::I8:
        array.elements = read_fixed_array<int8_t>(count, what);
        break;
      case ValueType::U16:
        array.elements = read_fixed_array<uint16_t>(count, what);
        break;
      case ValueType::I16:
        array.elements = read_fixed_array<int16_t>(count, what);
        break;
      case ValueType::U32:
        array.elements = read_fixed_array<uint32_t>(count, what);
        break;
      case ValueType::I32:
        array.elements = read_fixed_array<int32_t>(count, what);
        break;
      case ValueType::F32:
        array.elements = read_fixed_array<float>(count, what);
        break;
      case ValueType::U64:
        array.elements = read_fixed_array<uint64_t>(count, what);
        break;
      case ValueType::I64:
        array.elements = read_fixed_array<int64_t>(count, what);
        break;
      case ValueType::F64:
        array.elements = read_fixed_array<double>(count, what);
        break;
      case ValueType::Bool: {
        if (count > remaining()) {
          fail("{}: {} has {} bools, past the end of the file (size {})", file_.path_, what, count, size_);
        }
        std::vector<bool> values(count);
        for (uint64_t i = 0; i < count; ++i) values[i] = read_bool(what);
        array.elements = std::move(values);
        break;
      }
      case ValueType::String: {
        // Every string takes at least its 8-byte length.
        if (count > remaining() / 8) {
          fail("{}: {} has {} strings, more than the rest of the file (size {}) could hold", file_.path_, what, count,
               size_);
        }
        std::vector<std::string> values;
        values.reserve(count);
        for (uint64_t i = 0; i < count; ++i) values.push_back(read_string(what));
        array.elements = std::move(values);
        break;
      }
      case ValueType::Array:
        fail("{}: {} is an array of arrays, which is not supported", file_.path_, what);
    }
    return array;
  }

  void read_kv(uint64_t index) {
    std::string key = read_string(fmt::format("metadata key #{}", index));
    if (key.empty()) fail("{}: metadata key #{} is empty", file_.path_, index);
    const std::string what = fmt::format("metadata '{}'", key);
    const ValueType type = read_type(what);
    Value value;
    switch (type) {
      case ValueType::U8:
        value = read_scalar<uint8_t>(what);
        break;
      case ValueType::I8:
        value = read_scalar<int8_t>(what);
        break;
      case ValueType::U16:
        value = read_scalar<uint16_t>(what);
        break;
      case ValueType::I16:
        value = read_scalar<int16_t>(what);
        break;
      case ValueType::U32:
        value = read_scalar<uint32_t>(what);
        break;
      case ValueType::I32:
        value = read_scalar<int32_t>(what);
        break;
      case ValueType::F32:
        value = read_scalar<float>(what);
        break;
      case ValueType::U64:
        value = read_scalar<uint64_t>(what);
        break;
      case ValueType::I64:
        value = read_scalar<int64_t>(what);
        break;
      case ValueType::F64:
        value = read_scalar<double>(what);
        break;
      case ValueType::Bool:
        value = read_bool(what);
        break;
      case ValueType::String:
        value = read_string(what);
        break;
      case ValueType::Array:
        value = read_array(what);
        break;
    }
    if (!file_.metadata_index_.emplace(key, file_.metadata_.size()).second) {
      fail("{}: metadata key '{}' appears twice", file_.path_, key);
    }
    file_.metadata_.push_back({std::move(key), std::move(value)});
  }

  void read_alignment() {
    const Value* value = file_.find("general.alignment");
    if (!value) return;
    const uint32_t* alignment = std::get_if<uint32_t>(value);
    if (!alignment) {
      fail("{}: metadata 'general.alignment' is {}, expected u32", file_.path_, describe_type(*value));
    }
    if (!is_power_of_two(*alignment)) {
      fail("{}: metadata 'general.alignment' is {}, expected a power of two", file_.path_, *alignment);
    }
    // Weights are read in place as 16- and 32-bit words (block scales, f16 and f32 values), so
    // their data must start on a 4-byte boundary at least. llama.cpp writes 32; 1 and 2, though
    // powers of two, would put words at odd addresses.
    if (*alignment < 4) {
      fail(
          "{}: metadata 'general.alignment' is {}; tensor data must be aligned to at least 4 bytes (llama.cpp "
          "writes 32)",
          file_.path_, *alignment);
    }
    file_.alignment_ = *alignment;
  }

  // Reads one tensor entry; returns its offset relative to the data section.
  uint64_t read_tensor_info(uint64_t index) {
    std::string name = read_string(fmt::format("tensor #{} name", index));
    if (name.empty()) fail("{}: tensor #{} has an empty name", file_.path_, index);
    const std::string what = fmt::format("tensor '{}'", name);
    const uint32_t n_dims = read_u32(what + " rank");
    if (n_dims == 0 || n_dims > kMaxDims) {
      fail("{}: {} has {} dimensions (expected 1 to {})", file_.path_, what, n_dims, kMaxDims);
    }
    uint64_t ne[kMaxDims] = {1, 1, 1, 1};
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      ne[d] = read_u64(what + " dimension");
      if (ne[d] == 0 || ne[d] > uint64_t(std::numeric_limits<int64_t>::max())) {
        fail("{}: {} dimension {} is {} (expected 1 to 2^63-1)", file_.path_, what, d, int64_t(ne[d]));
      }
      if (!checked_mul(elements, ne[d], elements) || elements > uint64_t(std::numeric_limits<int64_t>::max())) {
        fail("{}: {} has too many elements (the product of its dimensions overflows)", file_.path_, what);
      }
    }
    const uint32_t ggml_type = read_u32(what + " type");
    const std::optional<DType> dtype = dtype_from_ggml_type(ggml_type);
    if (!dtype) {
      fail("{}: {} has tensor type {} (id {}), which is not supported (supported: {})", file_.path_, what,
           ggml_type_name(ggml_type), ggml_type, weight_type_names());
    }
    const uint64_t relative_offset = read_u64(what + " offset");

    const DTypeInfo& info = dtype_info(*dtype);
    if (ne[0] % info.block_elements != 0) {
      fail("{}: {} of type {} has rows of {} elements, not a multiple of its block size {}", file_.path_, what,
           info.name, ne[0], info.block_elements);
    }
    uint64_t bytes = ne[0] / info.block_elements * info.block_bytes;
    for (uint32_t d = 1; d < n_dims; ++d) {
      if (!checked_mul(bytes, ne[d], bytes)) fail("{}: {} byte size overflows", file_.path_, what);
    }

    TensorInfo tensor;
    tensor.name = std::move(name);
    tensor.type = *dtype;
    tensor.ggml_type = ggml_type;
    for (uint32_t d = n_dims; d-- > 0;) tensor.shape.push_back(int64_t(ne[d]));
    tensor.elements = int64_t(elements);
    tensor.offset = 0;  // set in place_tensors
    tensor.bytes = bytes;
    if (!file_.tensor_index_.emplace(tensor.name, file_.tensors_.size()).second) {
      fail("{}: tensor '{}' appears twice", file_.path_, tensor.name);
    }
    file_.tensors_.push_back(std::move(tensor));
    return relative_offset;
  }

  void place_tensors(const std::vector<uint64_t>& relative_offsets) {
    for (size_t i = 0; i < file_.tensors_.size(); ++i) {
      TensorInfo& t = file_.tensors_[i];
      const uint64_t rel = relative_offsets[i];
      if (rel % file_.alignment_ != 0) {
        fail("{}: tensor '{}' data offset {} is not a multiple of the alignment {}", file_.path_, t.name, rel,
             file_.alignment_);
      }
      uint64_t begin = 0, end = 0;
      if (!checked_add(file_.data_offset_, rel, begin) || !checked_add(begin, t.bytes, end) || end > size_) {
        fail("{}: tensor '{}' data [offset {}, {} bytes] extends past the end of the file (size {})", file_.path_,
             t.name, rel, t.bytes, size_);
      }
      t.offset = begin;
    }
    std::vector<size_t> order(file_.tensors_.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return file_.tensors_[a].offset < file_.tensors_[b].offset; });
    for (size_t i = 1; i < order.size(); ++i) {
      const TensorInfo& prev = file_.tensors_[order[i - 1]];
      const TensorInfo& cur = file_.tensors_[order[i]];
      if (prev.offset + prev.bytes > cur.offset) {
        fail("{}: tensors '{}' [{}, {} bytes] and '{}' [{}, {} bytes] overlap", file_.path_, prev.name,
             prev.offset - file_.data_offset_, prev.bytes, cur.name, cur.offset - file_.data_offset_, cur.bytes);
      }
    }
  }

  GgufFile& file_;
  const std::byte* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

GgufFile GgufFile::open(const std::string& path) {
  GgufFile file;
  file.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail("{}: cannot stat: {}", path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  file.size_ = uint64_t(st.st_size);
  if (file.size_ == 0) {
    ::close(fd);
    fail("{}: file is empty (expected a GGUF header)", path);
  }
  void* map = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_err = errno;
  ::close(fd);  // the mapping keeps the file's pages reachable
  if (map == MAP_FAILED) fail("{}: cannot map {} bytes: {}", path, file.size_, std::strerror(map_err));
  file.base_ = static_cast<const std::byte*>(map);
  GgufParser(file).parse();  // on a throw, file's destructor unmaps
  return file;
}

GgufFile::GgufFile(GgufFile&& other) noexcept { *this = std::move(other); }

GgufFile& GgufFile::operator=(GgufFile&& other) noexcept {
  if (this != &other) {
    if (base_) ::munmap(const_cast<std::byte*>(base_), size_);
    path_ = std::move(other.path_);
    version_ = other.version_;
    alignment_ = other.alignment_;
    size_ = other.size_;
    data_offset_ = other.data_offset_;
    base_ = std::exchange(other.base_, nullptr);
    metadata_ = std::move(other.metadata_);
    metadata_index_ = std::move(other.metadata_index_);
    tensors_ = std::move(other.tensors_);
    tensor_index_ = std::move(other.tensor_index_);
    other_parts_ = std::move(other.other_parts_);
  }
  return *this;
}

GgufFile::~GgufFile() {
  if (base_) ::munmap(const_cast<std::byte*>(base_), size_);
}

const Value* GgufFile::find(std::string_view key) const {
  auto it = metadata_index_.find(std::string(key));
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].value;
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& GgufFile::tensor(std::string_view name) const {
  const TensorInfo* t = find_tensor(name);
  if (!t) fail("{}: tensor '{}' is missing", path_, name);
  return *t;
}

std::span<const std::byte> GgufFile::data(const TensorInfo& tensor) const {
  const GgufFile& holder = tensor.part == 0 ? *this : other_parts_.at(tensor.part - 1);
  return {holder.base_ + tensor.offset, size_t(tensor.bytes)};
}

}  // namespace vkgraph::gguf
