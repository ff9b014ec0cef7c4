#pragma once
// Element types and their block formats: one row per type in weight_types.def (name, GGUF id,
// block elements and bytes, Vulkan shader families), with the host codecs of engine/core/codecs.h.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vkgraph {

// The Vulkan shader families built for a type as a weight or table (weight_types.def's last
// column; cmake/VkgraphWeightTypes.cmake reads the same names for the shader variants).
enum VulkanKernels : uint32_t {
  vk_none = 0,
  vk_matmul = 1u << 0,   // matvec, rows, rows_tokens, tiled, the fused decode kernels, get_rows
  vk_dot8 = 1u << 1,     // the integer-dot mat-vec (activations quantized per 32-element block)
  vk_coopmat = 1u << 2,  // the cooperative-matrix prefill
};

// Values follow the rows of weight_types.def (ours, not GGUF's ids: see DTypeInfo::ggml_id).
enum class DType : uint8_t {
#define VKGRAPH_TYPE(Enum, name, ggml_id, block_elements, block_bytes, vulkan) Enum,
#include "engine/core/weight_types.def"
#undef VKGRAPH_TYPE
};

inline constexpr size_t kDTypeCount = 0
#define VKGRAPH_TYPE(Enum, name, ggml_id, block_elements, block_bytes, vulkan) +1
#include "engine/core/weight_types.def"
#undef VKGRAPH_TYPE
    ;

// Host codecs of a row of n elements (n a multiple of the block size): out[n] floats from the
// blocks, or blocks from in[n] floats (engine/core/codecs.h).
using DecodeRow = void (*)(const void* blocks, float* out, size_t n);
using EncodeRow = void (*)(const float* in, void* blocks, size_t n);

struct DTypeInfo {
  std::string_view name;
  uint32_t ggml_id;       // GGUF's tensor type id
  size_t block_elements;  // elements per block (1 for plain types)
  size_t block_bytes;     // bytes per block
  bool quantized;         // blocks of several elements with shared scales
  bool weight;            // a weight or table type (all but I32: token ids and positions)
  uint32_t vulkan;        // VulkanKernels
  DecodeRow decode;       // (I32's throw)
  EncodeRow encode;
};

const DTypeInfo& dtype_info(DType type);
inline std::string_view dtype_name(DType type) { return dtype_info(type).name; }
std::optional<DType> dtype_from_name(std::string_view name);
std::optional<DType> dtype_from_ggml_id(uint32_t ggml_id);

inline bool is_weight_type(DType type) { return dtype_info(type).weight; }
// "f32, f16, q8_0, ...": the weight types, for messages that list what is supported.
std::string weight_type_names();

// Bytes of a row of `elements` values; the row length must be a multiple of the block size
// (checked by callers, which name the tensor when it is not).
inline size_t row_bytes(DType type, size_t elements) {
  const DTypeInfo& info = dtype_info(type);
  return elements / info.block_elements * info.block_bytes;
}

}  // namespace vkgraph
