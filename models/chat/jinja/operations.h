#pragma once
// Python's operators and protocols on template values, as Jinja2 applies them: str() and repr(),
// truth, ==, ordering, arithmetic, `in`, len(), iteration, and Jinja's attribute and item lookup
// (an attribute falls back to an item and an item to an attribute, and a miss is undefined).
// A type error is a runtime Error worded as Python words it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "models/chat/jinja/value.h"

namespace vkgraph::jinja {

std::string type_name(const Value& v);  // Python's: 'str', 'int', 'NoneType', 'dict', ...
std::string to_string(const Value& v);  // str(v); an undefined value is ""
std::string repr(const Value& v);
bool truthy(const Value& v);
bool equals(const Value& a, const Value& b);
bool less(const Value& a, const Value& b);  // a < b; a runtime Error for unorderable types

// Raises the UndefinedError Jinja raises when an undefined value is operated on.
[[noreturn]] void fail_undefined(const Value& v);
void fail_undefined_if_any(const Value& a, const Value& b);  // when either is undefined

// Arithmetic. `max_bytes` bounds strings and lists that repetition or concatenation build.
enum class BinaryOp { Add, Sub, Mul, Div, FloorDiv, Mod, Pow };
Value binary(BinaryOp op, const Value& a, const Value& b, size_t max_bytes);
Value negate(const Value& v);
Value plus(const Value& v);

bool contains(const Value& container, const Value& item);  // item in container
int64_t length(const Value& v);                            // len(v); undefined has 0
ValueList iterate(const Value& v);                         // for x in v (a dict gives its keys)

Value get_attribute(const Value& object, std::string_view name);
Value get_item(const Value& object, const Value& key);
// object[start:stop:step] on strings, lists and tuples; none for a missing bound.
Value slice(const Value& object, const Value& start, const Value& stop, const Value& step);

}  // namespace vkgraph::jinja
