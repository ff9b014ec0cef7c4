#pragma once
// Writes GGUF v3 files: metadata of every value type and tensors placed at aligned offsets.
// Tensor bytes are either handed over up front or produced at write time by a callback, so a
// multi-gigabyte synthetic model never has to sit in memory whole.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "models/gguf/gguf_value.h"

namespace vkgraph::gguf {

class GgufWriter {
 public:
  // Fills `out` (exactly the tensor's byte size) with the tensor's data.
  using Producer = std::function<void(std::span<std::byte> out)>;

  // `alignment` must be a power of two; other than 32 it is recorded as `general.alignment`.
  explicit GgufWriter(uint32_t alignment = 32);

  // Sets (or replaces) a key; keys keep the order of their first setting.
  void set(const std::string& key, Value value);
  void set_u32(const std::string& key, uint32_t v) { set(key, Value(v)); }
  void set_i32(const std::string& key, int32_t v) { set(key, Value(v)); }
  void set_u64(const std::string& key, uint64_t v) { set(key, Value(v)); }
  void set_f32(const std::string& key, float v) { set(key, Value(v)); }
  void set_bool(const std::string& key, bool v) { set(key, Value(v)); }
  void set_string(const std::string& key, std::string v) { set(key, Value(std::move(v))); }
  void set_array(const std::string& key, ArrayElements elements) { set(key, Value(Array{std::move(elements)})); }

  // shape: outermost first (as GgufFile reports it). The byte size follows from type and shape;
  // `data` must have exactly that size. Names must be unique.
  void add_tensor(const std::string& name, DType type, std::vector<int64_t> shape, std::vector<std::byte> data);
  void add_tensor(const std::string& name, DType type, std::vector<int64_t> shape, Producer producer);

  size_t tensor_count() const { return tensors_.size(); }

  // Writes the file (to `path`.tmp, then renamed), throwing an Error naming the path on failure.
  void write(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    uint64_t bytes;
    std::vector<std::byte> data;  // empty when a producer is used
    Producer producer;
  };
  uint32_t alignment_;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace vkgraph::gguf
