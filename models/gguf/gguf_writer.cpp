// The GGUF writer: header, metadata, tensor table, then each tensor at an aligned offset.

#include "models/gguf/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

#include "engine/core/error.h"
#include "models/gguf/checked_math.h"
#include "models/gguf/gguf_reader.h"

namespace vkgraph::gguf {

namespace {

constexpr uint32_t kVersion = 3;

// Buffered output to a FILE*, with errors naming the path.
class Output {
 public:
  explicit Output(const std::string& path) : path_(path) {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) fail("{}: cannot create: {}", path, std::strerror(errno));
  }
  ~Output() {
    if (file_) std::fclose(file_);
  }
  void bytes(const void* data, size_t n) {
    if (n && std::fwrite(data, 1, n, file_) != n) fail("{}: write failed: {}", path_, std::strerror(errno));
    written_ += n;
  }
  template <typename T>
  void scalar(T v) {
    bytes(&v, sizeof(T));
  }
  void string(const std::string& s) {
    scalar<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad_to(uint64_t alignment) {
    static const char zeros[256] = {};
    uint64_t target = 0;
    checked_align_up(written_, alignment, target);
    while (written_ < target) bytes(zeros, std::min<uint64_t>(sizeof(zeros), target - written_));
  }
  void close() {
    if (std::fflush(file_) != 0 || std::fclose(file_) != 0) {
      file_ = nullptr;
      fail("{}: write failed: {}", path_, std::strerror(errno));
    }
    file_ = nullptr;
  }
  uint64_t written() const { return written_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t written_ = 0;
};

void write_value(Output& out, const Value& value) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string>) {
          out.string(v);
        } else if constexpr (std::is_same_v<V, bool>) {
          out.scalar<uint8_t>(v ? 1 : 0);
        } else if constexpr (std::is_same_v<V, Array>) {
          out.scalar<uint32_t>(uint32_t(v.element_type()));
          out.scalar<uint64_t>(v.size());
          std::visit(
              [&](const auto& elements) {
                using E = std::decay_t<decltype(elements)>;
                if constexpr (std::is_same_v<E, std::monostate>) {
                  fail("GGUF writer: arrays of arrays are not supported");
                } else if constexpr (std::is_same_v<E, std::vector<std::string>>) {
                  for (const std::string& s : elements) out.string(s);
                } else if constexpr (std::is_same_v<E, std::vector<bool>>) {
                  for (bool b : elements) out.scalar<uint8_t>(b ? 1 : 0);
                } else {
                  out.bytes(elements.data(), elements.size() * sizeof(typename E::value_type));
                }
              },
              v.elements);
        } else {
          out.scalar<V>(v);
        }
      },
      value);
}

uint64_t tensor_bytes(const std::string& name, DType type, const std::vector<int64_t>& shape) {
  if (shape.empty() || shape.size() > kMaxDims) {
    fail("GGUF writer: tensor '{}' has {} dimensions (expected 1 to {})", name, shape.size(), kMaxDims);
  }
  const DTypeInfo& info = dtype_info(type);
  for (int64_t d : shape) {
    if (d < 1) fail("GGUF writer: tensor '{}' has dimension {} (expected >= 1)", name, d);
  }
  const uint64_t row = uint64_t(shape.back());
  if (row % info.block_elements != 0) {
    fail("GGUF writer: tensor '{}' of type {} has rows of {} elements, not a multiple of {}", name, info.name, row,
         info.block_elements);
  }
  uint64_t bytes = row / info.block_elements * info.block_bytes;
  for (size_t i = 0; i + 1 < shape.size(); ++i) {
    if (!checked_mul(bytes, uint64_t(shape[i]), bytes)) fail("GGUF writer: tensor '{}' size overflows", name);
  }
  return bytes;
}

}  // namespace

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  if (!is_power_of_two(alignment)) fail("GGUF writer: alignment {} is not a power of two", alignment);
  // What the reader accepts (gguf_reader.cpp): weights are read in place as 16- and 32-bit words.
  if (alignment < 4) fail("GGUF writer: alignment {} is below 4 bytes", alignment);
  if (alignment != kDefaultAlignment) set_u32("general.alignment", alignment);
}

void GgufWriter::set(const std::string& key, Value value) {
  if (key.empty()) fail("GGUF writer: empty metadata key");
  if (const Array* array = std::get_if<Array>(&value); array && array->element_type() == ValueType::Array) {
    fail("GGUF writer: metadata '{}' is an array of arrays, which is not supported", key);
  }
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> shape,
                            std::vector<std::byte> data) {
  const uint64_t bytes = tensor_bytes(name, type, shape);
  if (data.size() != bytes) {
    fail("GGUF writer: tensor '{}' {} needs {} bytes, given {}", name, dtype_name(type), bytes, data.size());
  }
  add_tensor(name, type, std::move(shape), Producer{});
  tensors_.back().data = std::move(data);
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> shape, Producer producer) {
  if (name.empty()) fail("GGUF writer: empty tensor name");
  for (const PendingTensor& t : tensors_) {
    if (t.name == name) fail("GGUF writer: tensor '{}' added twice", name);
  }
  ggml_type_from_dtype(type);  // refuses types GGUF cannot hold
  const uint64_t bytes = tensor_bytes(name, type, shape);
  tensors_.push_back({name, type, std::move(shape), bytes, {}, std::move(producer)});
}

void GgufWriter::write(const std::string& path) const {
  const std::string temp = path + ".tmp";
  {
    Output out(temp);
    out.scalar<uint32_t>(0x46554747);  // "GGUF"
    out.scalar<uint32_t>(kVersion);
    out.scalar<uint64_t>(tensors_.size());
    out.scalar<uint64_t>(metadata_.size());
    for (const auto& [key, value] : metadata_) {
      out.string(key);
      out.scalar<uint32_t>(uint32_t(value_type(value)));
      write_value(out, value);
    }
    uint64_t offset = 0;
    for (const PendingTensor& t : tensors_) {
      out.string(t.name);
      out.scalar<uint32_t>(uint32_t(t.shape.size()));
      for (size_t d = t.shape.size(); d-- > 0;) out.scalar<uint64_t>(uint64_t(t.shape[d]));  // GGUF: innermost first
      out.scalar<uint32_t>(ggml_type_from_dtype(t.type));
      out.scalar<uint64_t>(offset);
      checked_align_up(offset + t.bytes, alignment_, offset);
    }
    out.pad_to(alignment_);
    std::vector<std::byte> buffer;
    for (const PendingTensor& t : tensors_) {
      if (t.producer) {
        buffer.assign(t.bytes, std::byte{0});
        t.producer(buffer);
        out.bytes(buffer.data(), buffer.size());
      } else {
        out.bytes(t.data.data(), t.data.size());
      }
      out.pad_to(alignment_);
    }
    out.close();
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(temp.c_str());
    fail("{}: cannot rename from {}: {}", path, temp, std::strerror(err));
  }
}

}  // namespace vkgraph::gguf
