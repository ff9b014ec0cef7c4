#pragma once
// Python's str behaviour on UTF-8 text, as far as chat templates reach it: whitespace as
// str.isspace() defines it, strip/split, case mapping, code-point length and slicing, and the
// repr() of strings and floats (what `{{ [1.5, 'a'] }}` prints). Invalid UTF-8 bytes count as one
// code point each and pass through unchanged.
//
// Case mapping covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic (one code point to one,
// plus ß -> SS); other scripts are left as they are, where Python would map a few more.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vkgraph::jinja::text {

bool is_space(uint32_t cp);  // str.isspace(): White_Space plus the separators U+001C..U+001F

// Decodes the code point at s[pos] and its byte length (an invalid byte: itself, length 1).
uint32_t decode_at(std::string_view s, size_t pos, size_t& length);
void append_utf8(std::string& out, uint32_t cp);
bool is_ascii(std::string_view s);
size_t length(std::string_view s);  // in code points
// Byte offset of every code point, plus s.size() at the end.
std::vector<size_t> offsets(std::string_view s);
std::vector<uint32_t> codepoints(std::string_view s);

// str.strip / lstrip / rstrip: `chars` nullopt strips whitespace, otherwise any of its code points.
std::string_view strip(std::string_view s, const std::optional<std::string_view>& chars, bool left, bool right);

// str.split / str.rsplit. `sep` nullopt splits on runs of whitespace and drops empty pieces;
// maxsplit < 0 splits everywhere. An empty `sep` is an error for the caller to refuse.
std::vector<std::string> split(std::string_view s, const std::optional<std::string_view>& sep, int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string_view>& sep, int64_t maxsplit);
std::vector<std::string> splitlines(std::string_view s, bool keep_ends);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // str.capitalize(): first upper, the rest lower
std::string title(std::string_view s);       // str.title()
std::string swapcase(std::string_view s);
bool is_upper_string(std::string_view s);  // str.isupper(): cased characters, all upper
bool is_lower_string(std::string_view s);

std::string repr(std::string_view s);  // 'text' with Python's escapes and choice of quotes
// markupsafe's escape(): & < > ' " as &amp; &lt; &gt; &#39; &#34;.
std::string html_escape(std::string_view s);
std::string float_repr(double v);  // repr(float): shortest round trip, 1e+16 style past 16 digits

// Position of `needle` in s counted in code points from `start` (code points), or -1.
int64_t find(std::string_view s, std::string_view needle, int64_t start, int64_t end, bool reverse);
int64_t count(std::string_view s, std::string_view needle);

}  // namespace vkgraph::jinja::text
