#include "engine/core/dtype.h"

#include "engine/core/blocks.h"
#include "engine/core/codecs.h"
#include "engine/core/error.h"

namespace vkgraph {
namespace {

constexpr DTypeInfo infos[] = {
#define VKGRAPH_TYPE(Enum, name, ggml_id, block_elements, block_bytes, vulkan) \
  {#name,                                                                      \
   ggml_id,                                                                    \
   block_elements,                                                             \
   block_bytes,                                                                \
   (block_elements) > 1,                                                       \
   DType::Enum != DType::I32,                                                  \
   uint32_t(vulkan),                                                           \
   decode_##name,                                                              \
   encode_##name},
#include "engine/core/weight_types.def"
#undef VKGRAPH_TYPE
};
static_assert(std::size(infos) == kDTypeCount);

// Every block struct has the size its row says.
#define VKGRAPH_TYPE(Enum, name, ggml_id, block_elements, block_bytes, vulkan) \
  static_assert(sizeof(Block##Enum) == (block_bytes) && Block##Enum::elements == (block_elements), #Enum);
#include "engine/core/weight_types.def"
#undef VKGRAPH_TYPE

}  // namespace

const DTypeInfo& dtype_info(DType type) {
  const auto index = static_cast<size_t>(type);
  if (index >= std::size(infos)) fail("unknown dtype value {}", index);
  return infos[index];
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (size_t i = 0; i < std::size(infos); ++i) {
    if (infos[i].name == name) return static_cast<DType>(i);
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_ggml_id(uint32_t ggml_id) {
  for (size_t i = 0; i < std::size(infos); ++i) {
    if (infos[i].ggml_id == ggml_id) return static_cast<DType>(i);
  }
  return std::nullopt;
}

std::string weight_type_names() {
  std::string names;
  for (const DTypeInfo& info : infos) {
    if (!info.weight) continue;
    if (!names.empty()) names += ", ";
    names += info.name;
  }
  return names;
}

}  // namespace vkgraph
