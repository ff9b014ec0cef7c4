#pragma once
// The Python methods templates call on values: str (strip, split, startswith, replace, format,
// ...), dict (get, items, keys, values) and list/tuple (index, count). Methods that modify a
// list or dict (append, pop, update, ...) are refused, as in Jinja2's immutable sandbox that
// Hugging Face renders with: the attribute is an undefined value whose use raises an error.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "models/chat/jinja/value.h"

namespace vkgraph::jinja {

// The method `name` of `self` bound to it, nullopt when the type has no such method.
std::optional<Value> bound_method(const Value& self, std::string_view name);

// str.replace(old, new, count): count < 0 replaces all; an empty `old` inserts `new` around
// every character. A Limit error when the result would pass max_bytes.
std::string python_replace(const std::string& s, const std::string& old, const std::string& replacement, int64_t count,
                           size_t max_bytes);

}  // namespace vkgraph::jinja
