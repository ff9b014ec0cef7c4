#pragma once
// Element types and the quantized block formats of GGUF (ggml's layouts, which the files use).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vkgraph {

// Values are our own; GGUF's type ids are mapped in models/gguf. Room is left for K-quants.
enum class DType : uint8_t {
  F32,
  F16,
  I32,
  Q8_0,
  Q4_0,
};

// Q8_0: 32 weights share one f16 scale d; w = d * q, q in [-128, 127]. 34 bytes a block.
struct BlockQ8_0 {
  uint16_t d;  // f16 bits
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Q4_0: 32 weights share one f16 scale d; w = d * (q - 8), q in [0, 15]. Byte i holds weight i in
// its low nibble and weight i + 16 in its high nibble. 18 bytes a block.
struct BlockQ4_0 {
  uint16_t d;  // f16 bits
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_0) == 18);

struct DTypeInfo {
  std::string_view name;
  size_t block_elements;  // elements per block (1 for plain types)
  size_t block_bytes;     // bytes per block
  bool quantized;
};

const DTypeInfo& dtype_info(DType type);
inline std::string_view dtype_name(DType type) { return dtype_info(type).name; }
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes of a row of `elements` values; the row length must be a multiple of the block size
// (checked by callers, which name the tensor when it is not).
inline size_t row_bytes(DType type, size_t elements) {
  const DTypeInfo& info = dtype_info(type);
  return elements / info.block_elements * info.block_bytes;
}

}  // namespace vkgraph
