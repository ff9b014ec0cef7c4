#pragma once
// API keys: `Authorization: Bearer KEY`, compared in constant time so the time a wrong key
// takes says nothing about how much of it was right.

#include <string_view>

namespace vkgraph::serve {

// Whether `a` and `b` are equal, in time that depends on their lengths only.
bool constant_time_equal(std::string_view a, std::string_view b);

// Whether an Authorization header value carries `key` ("Bearer <key>", the scheme
// case-insensitive as RFC 7235 says).
bool bearer_matches(std::string_view header, std::string_view key);

}  // namespace vkgraph::serve
