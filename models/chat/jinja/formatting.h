#pragma once
// Python's two string-formatting languages, as templates use them: `'%s: %d' % (a, b)` and
// `'<think{}>'.format(x)` (fields by position or name, `!r`/`!s`, and the format spec's fill,
// alignment, sign, width, precision and type). `max_bytes` bounds the result and any width.

#include <cstddef>
#include <string>

#include "models/chat/jinja/value.h"

namespace vkgraph::jinja {

// With `escape_args` (the format is Markup), text that arguments put in is HTML-escaped, as
// markupsafe does.
std::string percent_format(const std::string& format, const Value& args, size_t max_bytes, bool escape_args);
std::string str_format(const std::string& format, const CallArgs& args, size_t max_bytes, bool escape_args);
// One value under a format spec (the part after ':' in a str.format field).
std::string format_value(const Value& v, const std::string& spec, size_t max_bytes);

}  // namespace vkgraph::jinja
