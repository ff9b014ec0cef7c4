// Names and sizes of GGUF metadata values.

#include "models/gguf/gguf_value.h"

#include <fmt/format.h>

namespace vkgraph::gguf {

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::U8:
      return "u8";
    case ValueType::I8:
      return "i8";
    case ValueType::U16:
      return "u16";
    case ValueType::I16:
      return "i16";
    case ValueType::U32:
      return "u32";
    case ValueType::I32:
      return "i32";
    case ValueType::F32:
      return "f32";
    case ValueType::Bool:
      return "bool";
    case ValueType::String:
      return "string";
    case ValueType::Array:
      return "array";
    case ValueType::U64:
      return "u64";
    case ValueType::I64:
      return "i64";
    case ValueType::F64:
      return "f64";
  }
  return "unknown";
}

size_t Array::size() const {
  return std::visit(
      [](const auto& v) -> size_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) {
          return 0;
        } else {
          return v.size();
        }
      },
      elements);
}

std::string describe_type(const Value& value) {
  if (const Array* array = std::get_if<Array>(&value)) {
    return fmt::format("array of {}", value_type_name(array->element_type()));
  }
  return std::string(value_type_name(value_type(value)));
}

}  // namespace vkgraph::gguf
