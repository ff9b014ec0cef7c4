#pragma once
// JSON in and out of templates. Out: Python's json.dumps, which is what Hugging Face's `tojson`
// filter calls (keys in insertion order unless sort_keys; separators ", " and ": " or, with an
// indent, "," and newlines; floats as repr(); non-ASCII kept unless ensure_ascii). In: messages,
// tools and extra variables from nlohmann::ordered_json, keeping the order of object keys.

#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "models/chat/jinja/value.h"

namespace vkgraph::jinja {

struct JsonOptions {
  bool ensure_ascii = false;
  std::optional<std::string> indent;  // nullopt: one line
  std::optional<std::string> item_separator, key_separator;
  bool sort_keys = false;
};

// A runtime Error for what json.dumps refuses (undefined values, namespaces, functions,
// unsupported dict keys); a Limit error past max_bytes.
std::string to_json(const Value& v, const JsonOptions& options, size_t max_bytes);

// Integers outside int64 become floats; nesting deeper than a value may have is a Limit error.
Value from_json(const nlohmann::ordered_json& j);

}  // namespace vkgraph::jinja
