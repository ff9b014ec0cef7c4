#pragma once
// The push constants a lowering fills, described field by field, so that the build can compare
// them with the block the shader compiler laid out in the SPIR-V
// (shaders/tools/check_push_constants.cpp) and a lowering can check that its kernel takes the
// struct it fills (set_push in lowering.h).
//
// A struct is declared once, from a field list in the order of its GLSL block, F(type, name) per
// field (an X-macro):
//   #define VKGRAPH_ROPE_PUSH(F) F(uint32_t, m) F(uint32_t, n_head) ... F(float, freq_scale)
//   VKGRAPH_PUSH_STRUCT(RopePush, VKGRAPH_ROPE_PUSH)
// defines `struct RopePush { uint32_t m; ... }` and PushStruct<RopePush> (its name and layout).
// A list may begin with another list, as a GLSL header extends a block under #if (the matmul
// fields, then ADD's r_off: MatmulAddPush).
//
// Fields are 4-byte scalars (uint32_t, int32_t, float): std430 then packs the block exactly as
// C++ lays out the struct, with no padding, so memcpy of the struct is the block.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

namespace vkgraph::vk {

struct PushField {
  std::string_view name;
  uint32_t offset = 0;
  std::string_view type;  // as GLSL spells it: "uint", "int", "float"
};

struct PushLayout {
  std::string_view name;  // the C++ struct, e.g. "MatmulPush"
  uint32_t size = 0;
  std::vector<PushField> fields;
};

// GLSL's name for a C++ field type; only 4-byte scalars are allowed.
template <typename T>
constexpr std::string_view push_field_type() {
  if constexpr (std::is_same_v<T, uint32_t>) {
    return "uint";
  } else if constexpr (std::is_same_v<T, int32_t>) {
    return "int";
  } else {
    static_assert(std::is_same_v<T, float>, "push-constant fields are uint32_t, int32_t or float");
    return "float";
  }
}

// Specialized for every push struct by VKGRAPH_PUSH_STRUCT.
template <typename T>
struct PushStruct;

// Every push struct of the Vulkan lowering (push/layouts.cpp).
const std::vector<PushLayout>& push_layouts();

}  // namespace vkgraph::vk

#define VKGRAPH_PUSH_MEMBER(type, name) type name;
#define VKGRAPH_PUSH_DESCRIBE(type, name) \
  ::vkgraph::vk::PushField{#name, uint32_t(offsetof(Self, name)), ::vkgraph::vk::push_field_type<type>()},

// Copies the fields of the list FIELDS from `from` to `to`: fills an extended block
// (MatmulAddPush) from the block it extends (MatmulPush), field by field.
#define VKGRAPH_PUSH_COPY_FIELD(type, name) vkgraph_push_to_.name = vkgraph_push_from_.name;
#define VKGRAPH_PUSH_COPY(FIELDS, to, from)  \
  do {                                       \
    auto& vkgraph_push_to_ = (to);           \
    const auto& vkgraph_push_from_ = (from); \
    FIELDS(VKGRAPH_PUSH_COPY_FIELD)          \
  } while (0)

// Defines struct S from FIELDS and its PushStruct<S>. Use inside namespace vkgraph::vk.
#define VKGRAPH_PUSH_STRUCT(S, FIELDS)                                     \
  struct S {                                                               \
    FIELDS(VKGRAPH_PUSH_MEMBER)                                            \
  };                                                                       \
  static_assert(std::is_standard_layout_v<S> && sizeof(S) % 4 == 0);       \
  template <>                                                              \
  struct PushStruct<S> {                                                   \
    static constexpr std::string_view name = #S;                           \
    static PushLayout layout() {                                           \
      using Self = S;                                                      \
      return {name, uint32_t(sizeof(S)), {FIELDS(VKGRAPH_PUSH_DESCRIBE)}}; \
    }                                                                      \
  };
