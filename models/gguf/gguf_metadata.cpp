// Typed access to GGUF metadata. Integer getters accept any integer type whose value fits the
// type asked for (converters differ on u32 vs u64 for counts); a wrong kind of value is an error.

#include <limits>
#include <type_traits>
#include <utility>

#include "engine/core/error.h"
#include "models/gguf/gguf_reader.h"

namespace vkgraph::gguf {

namespace {

// Converts an integer or float alternative to T when T can hold the value exactly (integers) or
// when both are floating point; nullopt otherwise.
template <typename T, typename V>
std::optional<T> convert_number(const V& v) {
  if constexpr (std::is_same_v<V, bool> || std::is_same_v<V, std::string> || std::is_same_v<V, Array> ||
                std::is_same_v<V, std::monostate>) {
    return std::nullopt;
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (std::is_integral_v<V>) {
      if (std::in_range<T>(v)) return T(v);
    }
    return std::nullopt;
  } else {
    if constexpr (std::is_floating_point_v<V>) return T(v);
    return std::nullopt;
  }
}

template <typename T>
constexpr std::string_view wanted_name() {
  if constexpr (std::is_same_v<T, uint32_t>) return "u32";
  if constexpr (std::is_same_v<T, int32_t>) return "i32";
  if constexpr (std::is_same_v<T, uint64_t>) return "u64";
  if constexpr (std::is_same_v<T, float>) return "f32";
  return "number";
}

template <typename T>
T number_or_fail(const GgufFile& file, std::string_view key, const Value& value) {
  std::optional<T> out = std::visit([](const auto& v) { return convert_number<T>(v); }, value);
  if (!out) {
    if constexpr (std::is_integral_v<T>) {
      bool is_integer = std::visit(
          [](const auto& v) {
            return std::is_integral_v<std::decay_t<decltype(v)>> && !std::is_same_v<std::decay_t<decltype(v)>, bool>;
          },
          value);
      if (is_integer) {
        fail("{}: metadata '{}' ({}) does not fit in {}", file.path(), key, describe_type(value), wanted_name<T>());
      }
    }
    fail("{}: metadata '{}' is {}, expected {}", file.path(), key, describe_type(value), wanted_name<T>());
  }
  return *out;
}

const Value& require(const GgufFile& file, std::string_view key, std::string_view expected) {
  const Value* value = file.find(key);
  if (!value) fail("{}: metadata '{}' ({}) is missing", file.path(), key, expected);
  return *value;
}

template <typename T>
std::vector<T> number_array(const GgufFile& file, std::string_view key, const Array& array) {
  std::vector<T> out;
  out.reserve(array.size());
  std::visit(
      [&](const auto& elements) {
        using Vec = std::decay_t<decltype(elements)>;
        if constexpr (std::is_same_v<Vec, std::monostate> || std::is_same_v<Vec, std::vector<std::string>> ||
                      std::is_same_v<Vec, std::vector<bool>>) {
          fail("{}: metadata '{}' is array of {}, expected array of {}", file.path(), key,
               value_type_name(array.element_type()), wanted_name<T>());
        } else {
          for (size_t i = 0; i < elements.size(); ++i) {
            std::optional<T> v = convert_number<T>(elements[i]);
            if (!v) {
              fail("{}: metadata '{}' element {} ({}) is not a valid {}", file.path(), key, i,
                   value_type_name(array.element_type()), wanted_name<T>());
            }
            out.push_back(*v);
          }
        }
      },
      array.elements);
  return out;
}

}  // namespace

uint32_t GgufFile::get_u32(std::string_view key) const {
  return number_or_fail<uint32_t>(*this, key, require(*this, key, "u32"));
}
int32_t GgufFile::get_i32(std::string_view key) const {
  return number_or_fail<int32_t>(*this, key, require(*this, key, "i32"));
}
uint64_t GgufFile::get_u64(std::string_view key) const {
  return number_or_fail<uint64_t>(*this, key, require(*this, key, "u64"));
}
float GgufFile::get_f32(std::string_view key) const {
  return number_or_fail<float>(*this, key, require(*this, key, "f32"));
}

bool GgufFile::get_bool(std::string_view key) const {
  const Value& value = require(*this, key, "bool");
  const bool* b = std::get_if<bool>(&value);
  if (!b) fail("{}: metadata '{}' is {}, expected bool", path_, key, describe_type(value));
  return *b;
}

const std::string& GgufFile::get_string(std::string_view key) const {
  const Value& value = require(*this, key, "string");
  const std::string* s = std::get_if<std::string>(&value);
  if (!s) fail("{}: metadata '{}' is {}, expected string", path_, key, describe_type(value));
  return *s;
}

std::optional<uint32_t> GgufFile::find_u32(std::string_view key) const {
  return has(key) ? std::optional(get_u32(key)) : std::nullopt;
}
std::optional<int32_t> GgufFile::find_i32(std::string_view key) const {
  return has(key) ? std::optional(get_i32(key)) : std::nullopt;
}
std::optional<uint64_t> GgufFile::find_u64(std::string_view key) const {
  return has(key) ? std::optional(get_u64(key)) : std::nullopt;
}
std::optional<float> GgufFile::find_f32(std::string_view key) const {
  return has(key) ? std::optional(get_f32(key)) : std::nullopt;
}
std::optional<bool> GgufFile::find_bool(std::string_view key) const {
  return has(key) ? std::optional(get_bool(key)) : std::nullopt;
}
std::optional<std::string> GgufFile::find_string(std::string_view key) const {
  return has(key) ? std::optional(get_string(key)) : std::nullopt;
}

const Array& GgufFile::get_array(std::string_view key) const {
  const Value& value = require(*this, key, "array");
  const Array* array = std::get_if<Array>(&value);
  if (!array) fail("{}: metadata '{}' is {}, expected an array", path_, key, describe_type(value));
  return *array;
}

const std::vector<std::string>& GgufFile::get_string_array(std::string_view key) const {
  const Array& array = get_array(key);
  const auto* strings = std::get_if<std::vector<std::string>>(&array.elements);
  if (!strings) {
    fail("{}: metadata '{}' is array of {}, expected array of string", path_, key,
         value_type_name(array.element_type()));
  }
  return *strings;
}

std::vector<int32_t> GgufFile::get_i32_array(std::string_view key) const {
  return number_array<int32_t>(*this, key, get_array(key));
}

std::vector<float> GgufFile::get_f32_array(std::string_view key) const {
  return number_array<float>(*this, key, get_array(key));
}

}  // namespace vkgraph::gguf
