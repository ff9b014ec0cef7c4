#pragma once
// GGUF metadata values: the thirteen value types of the format, held with their exact type so a
// file read and written back is identical. Shared by the reader and the writer.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vkgraph::gguf {

// The format's value type ids (GGUF spec, `gguf_metadata_value_type`).
enum class ValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
inline constexpr uint32_t kValueTypeCount = 13;

std::string_view value_type_name(ValueType type);  // "u32", "string", "array", ...

// An array's elements. The alternative's index equals the element type id; index 9 (an array of
// arrays) is never filled: the reader refuses nested arrays, which no model file uses.
using ArrayElements = std::variant<std::vector<uint8_t>, std::vector<int8_t>, std::vector<uint16_t>,
                                   std::vector<int16_t>, std::vector<uint32_t>, std::vector<int32_t>,
                                   std::vector<float>, std::vector<bool>, std::vector<std::string>, std::monostate,
                                   std::vector<uint64_t>, std::vector<int64_t>, std::vector<double>>;

struct Array {
  ArrayElements elements;
  ValueType element_type() const { return ValueType(elements.index()); }
  size_t size() const;
  bool operator==(const Array&) const = default;
};

// A metadata value. The alternative's index equals the GGUF value type id.
using Value = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool, std::string, Array,
                           uint64_t, int64_t, double>;

inline ValueType value_type(const Value& value) { return ValueType(value.index()); }

// "u32", or "array of string" for arrays: used in error messages.
std::string describe_type(const Value& value);

}  // namespace vkgraph::gguf
