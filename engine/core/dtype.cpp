#include "engine/core/dtype.h"

#include "engine/core/error.h"

namespace vkgraph {
namespace {

constexpr DTypeInfo infos[] = {
    {"f32", 1, 4, false},
    {"f16", 1, 2, false},
    {"i32", 1, 4, false},
    {"q8_0", 32, sizeof(BlockQ8_0), true},
    {"q4_0", 32, sizeof(BlockQ4_0), true},
};

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

}  // namespace vkgraph
