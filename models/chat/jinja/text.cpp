// Python's str semantics on UTF-8 (see text.h). The rules below restate CPython's documented
// behaviour: str.isspace(), str.split(), the repr() of str and float (shortest round trip,
// exponent form outside 1e-4 <= |x| < 1e16), and the simple case mappings of the scripts listed.

#include "models/chat/jinja/text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "models/tokenizer/unicode.h"

namespace vkgraph::jinja::text {

namespace {

// Case pairs where the upper case letter is even and the lower case one odd (or the reverse),
// one apart: the layout of Latin Extended-A and parts of Cyrillic.
struct PairRange {
  uint32_t first, last;
  bool upper_is_even;
};
constexpr PairRange kPairRanges[] = {
    {0x0100, 0x012F, true}, {0x0132, 0x0137, true},  {0x0139, 0x0148, false},
    {0x014A, 0x0177, true}, {0x0179, 0x017E, false}, {0x0460, 0x0481, true},
    {0x048A, 0x04BF, true}, {0x04C1, 0x04CE, false}, {0x04D0, 0x052F, true},
};

// Ranges where the lower case letter is the upper case one plus a fixed offset.
struct OffsetRange {
  uint32_t upper_first, upper_last;
  uint32_t offset;
};
constexpr OffsetRange kOffsetRanges[] = {
    {'A', 'Z', 32},       {0x00C0, 0x00D6, 32}, {0x00D8, 0x00DE, 32}, {0x0391, 0x03A1, 32}, {0x03A3, 0x03AB, 32},
    {0x0388, 0x038A, 37}, {0x038E, 0x038F, 63}, {0x0410, 0x042F, 32}, {0x0400, 0x040F, 80},
};

uint32_t to_lower(uint32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  for (const OffsetRange& r : kOffsetRanges) {
    if (c >= r.upper_first && c <= r.upper_last) return c + r.offset;
  }
  for (const PairRange& r : kPairRanges) {
    if (c >= r.first && c <= r.last) return ((c % 2 == 0) == r.upper_is_even) ? c + 1 : c;
  }
  switch (c) {
    case 0x0178:
      return 0x00FF;
    case 0x0386:
      return 0x03AC;
    case 0x038C:
      return 0x03CC;
    case 0x04C0:
      return 0x04CF;
    default:
      return c;
  }
}

uint32_t to_upper(uint32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  for (const OffsetRange& r : kOffsetRanges) {
    if (c >= r.upper_first + r.offset && c <= r.upper_last + r.offset) return c - r.offset;
  }
  for (const PairRange& r : kPairRanges) {
    if (c >= r.first && c <= r.last) return ((c % 2 == 0) == r.upper_is_even) ? c : c - 1;
  }
  switch (c) {
    case 0x00B5:
      return 0x039C;  // micro sign -> Greek capital mu
    case 0x00FF:
      return 0x0178;
    case 0x0131:
      return 'I';  // dotless i
    case 0x017F:
      return 'S';  // long s
    case 0x03C2:
      return 0x03A3;  // final sigma
    case 0x03AC:
      return 0x0386;
    case 0x03CC:
      return 0x038C;
    case 0x04CF:
      return 0x04C0;
    default:
      return c;
  }
}

bool is_lower_cp(uint32_t c) { return to_upper(c) != c || c == 0x00DF || c == 0x0138; }
bool is_upper_cp(uint32_t c) { return to_lower(c) != c; }
bool is_cased(uint32_t c) { return is_lower_cp(c) || is_upper_cp(c); }

// Appends the upper case of c: one code point, or "SS" for ß.
void append_upper(std::string& out, uint32_t c) {
  if (c == 0x00DF) {
    out += "SS";
    return;
  }
  append_utf8(out, to_upper(c));
}

template <typename F>
std::string map_codepoints(std::string_view s, F&& f) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    size_t n = 0;
    const uint32_t c = decode_at(s, pos, n);
    if (n == 1 && uint8_t(s[pos]) >= 0x80) {
      out += s[pos];  // an invalid byte passes through
    } else {
      f(out, c);
    }
    pos += n;
  }
  return out;
}

bool is_line_break(uint32_t c) {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x85 ||
         c == 0x2028 || c == 0x2029;
}

// Not printable for repr(): controls, format characters, separators other than the space,
// private use and surrogates (Python's str.isprintable, for the code points templates meet).
bool is_printable(uint32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) return false;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F)) return false;
  if ((c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB)) return false;
  if ((c >= 0x0600 && c <= 0x0605) || c == 0x061C || c == 0x06DD || c == 0x070F || c == 0x180E) return false;
  if ((c >= 0xD800 && c <= 0xF8FF) || c == 0xFFFE || c == 0xFFFF || c > 0x10FFFF) return false;
  if (c >= 0xF0000) return false;  // planes 15 and 16: private use
  return true;
}

}  // namespace

bool is_space(uint32_t cp) { return unicode::is_whitespace(cp) || (cp >= 0x1C && cp <= 0x1F); }

uint32_t decode_at(std::string_view s, size_t pos, size_t& length) {
  const uint8_t b = uint8_t(s[pos]);
  if (b < 0x80) {
    length = 1;
    return b;
  }
  length = unicode::utf8_valid_length(s, pos);
  if (length == 0) {
    length = 1;
    return b;  // an invalid byte stands for itself
  }
  return unicode::utf8_decode(s, pos, length);
}

void append_utf8(std::string& out, uint32_t cp) { unicode::utf8_append(out, cp); }

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return uint8_t(c) < 0x80; });
}

size_t length(std::string_view s) {
  if (is_ascii(s)) return s.size();
  size_t n = 0;
  for (size_t pos = 0, len = 0; pos < s.size(); pos += len) {
    decode_at(s, pos, len);
    ++n;
  }
  return n;
}

std::vector<size_t> offsets(std::string_view s) {
  std::vector<size_t> out;
  out.reserve(s.size() + 1);
  for (size_t pos = 0, len = 0; pos < s.size(); pos += len) {
    out.push_back(pos);
    decode_at(s, pos, len);
  }
  out.push_back(s.size());
  return out;
}

std::vector<uint32_t> codepoints(std::string_view s) {
  std::vector<uint32_t> out;
  for (size_t pos = 0, len = 0; pos < s.size(); pos += len) out.push_back(decode_at(s, pos, len));
  return out;
}

std::string_view strip(std::string_view s, const std::optional<std::string_view>& chars, bool left, bool right) {
  std::vector<uint32_t> set;
  if (chars) set = codepoints(*chars);
  const auto strippable = [&](uint32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : is_space(c);
  };
  size_t begin = 0, end = s.size();
  if (left) {
    while (begin < end) {
      size_t n = 0;
      const uint32_t c = decode_at(s, begin, n);
      if (!strippable(c)) break;
      begin += n;
    }
  }
  if (right) {
    while (end > begin) {
      size_t start = end - 1;  // back to the lead byte of the last code point
      while (start > begin && (uint8_t(s[start]) & 0xC0) == 0x80 && end - start < 4) --start;
      size_t n = 0;
      uint32_t c = decode_at(s, start, n);
      if (start + n != end) {  // not one sequence: the last byte alone
        start = end - 1;
        c = uint8_t(s[start]);
      }
      if (!strippable(c)) break;
      end = start;
    }
  }
  return s.substr(begin, end - begin);
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string_view>& sep, int64_t maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    size_t start = 0;
    while (maxsplit < 0 || int64_t(parts.size()) < maxsplit) {
      const size_t at = s.find(*sep, start);
      if (at == std::string_view::npos) break;
      parts.emplace_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    parts.emplace_back(s.substr(start));
    return parts;
  }
  size_t pos = 0;
  const auto space_at = [&](size_t p, size_t& n) { return is_space(decode_at(s, p, n)); };
  while (true) {
    size_t n = 0;
    while (pos < s.size() && space_at(pos, n)) pos += n;
    if (pos >= s.size()) break;
    if (maxsplit >= 0 && int64_t(parts.size()) >= maxsplit) {
      parts.emplace_back(strip(s.substr(pos), std::nullopt, false, true));
      break;
    }
    const size_t start = pos;
    while (pos < s.size() && !space_at(pos, n)) pos += n;
    parts.emplace_back(s.substr(start, pos - start));
  }
  return parts;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string_view>& sep, int64_t maxsplit) {
  if (maxsplit < 0) return split(s, sep, maxsplit);
  std::vector<std::string> parts;
  if (sep) {
    size_t end = s.size();
    while (int64_t(parts.size()) < maxsplit) {
      if (end < sep->size()) break;
      const size_t at = s.rfind(*sep, end - sep->size());
      if (at == std::string_view::npos) break;
      parts.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
    }
    parts.emplace_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  // Whitespace runs from the right: split the words, then join the unsplit head back as it was.
  const std::vector<size_t> at = offsets(s);
  const std::vector<uint32_t> cps = codepoints(s);
  int64_t i = int64_t(cps.size());
  while (true) {
    while (i > 0 && is_space(cps[size_t(i - 1)])) --i;
    if (i == 0) break;
    if (int64_t(parts.size()) >= maxsplit) {
      parts.emplace_back(strip(s.substr(0, at[size_t(i)]), std::nullopt, true, false));
      break;
    }
    const int64_t end = i;
    while (i > 0 && !is_space(cps[size_t(i - 1)])) --i;
    parts.emplace_back(s.substr(at[size_t(i)], at[size_t(end)] - at[size_t(i)]));
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> splitlines(std::string_view s, bool keep_ends) {
  std::vector<std::string> lines;
  size_t start = 0, pos = 0;
  while (pos < s.size()) {
    size_t n = 0;
    const uint32_t c = decode_at(s, pos, n);
    if (!is_line_break(c)) {
      pos += n;
      continue;
    }
    size_t end = pos + n;
    if (c == '\r' && end < s.size() && s[end] == '\n') ++end;
    lines.emplace_back(s.substr(start, (keep_ends ? end : pos) - start));
    start = pos = end;
  }
  if (start < s.size()) lines.emplace_back(s.substr(start));
  return lines;
}

std::string upper(std::string_view s) {
  return map_codepoints(s, [](std::string& out, uint32_t c) { append_upper(out, c); });
}

std::string lower(std::string_view s) {
  return map_codepoints(s, [](std::string& out, uint32_t c) {
    if (c == 0x0130) {
      out += "i\xCC\x87";  // İ -> i + combining dot above
    } else {
      append_utf8(out, to_lower(c));
    }
  });
}

std::string capitalize(std::string_view s) {
  bool first = true;
  return map_codepoints(s, [&](std::string& out, uint32_t c) {
    if (first) {
      append_upper(out, c);
    } else {
      append_utf8(out, to_lower(c));
    }
    first = false;
  });
}

std::string title(std::string_view s) {
  bool previous_cased = false;
  return map_codepoints(s, [&](std::string& out, uint32_t c) {
    if (previous_cased) {
      append_utf8(out, to_lower(c));
    } else {
      append_upper(out, c);
    }
    previous_cased = is_cased(c);
  });
}

std::string swapcase(std::string_view s) {
  return map_codepoints(s, [](std::string& out, uint32_t c) {
    if (is_upper_cp(c)) {
      append_utf8(out, to_lower(c));
    } else {
      append_upper(out, c);
    }
  });
}

bool is_upper_string(std::string_view s) {
  bool cased = false;
  for (uint32_t c : codepoints(s)) {
    if (is_lower_cp(c)) return false;
    cased = cased || is_upper_cp(c);
  }
  return cased;
}

bool is_lower_string(std::string_view s) {
  bool cased = false;
  for (uint32_t c : codepoints(s)) {
    if (is_upper_cp(c)) return false;
    cased = cased || is_lower_cp(c);
  }
  return cased;
}

std::string repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (size_t pos = 0, n = 0; pos < s.size(); pos += n) {
    const uint32_t c = decode_at(s, pos, n);
    if (c == uint32_t(quote) || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (n == 1 && c >= 0x80) {
      out += fmt::format("\\x{:02x}", c);  // an invalid byte (Python would hold a surrogate escape)
    } else if (c < 0x7F && c >= 0x20) {
      out += char(c);
    } else if (is_printable(c)) {
      out.append(s.substr(pos, n));
    } else if (c <= 0xFF) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c <= 0xFFFF) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += fmt::format("\\U{:08x}", c);
    }
  }
  out += quote;
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '"':
        out += "&#34;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  // Shortest digits that round-trip, as "d.ddde+XX"; Python places the point itself.
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  const std::string_view sci(buf, size_t(result.ptr - buf));
  const size_t e = sci.find('e');
  std::string_view mantissa = sci.substr(0, e);
  const int exponent = std::atoi(std::string(sci.substr(e + 1)).c_str());
  std::string out;
  if (!mantissa.empty() && mantissa[0] == '-') {
    out += '-';
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(size_t(-exponent - 1), '0') + digits;
    } else if (size_t(exponent) + 1 >= digits.size()) {
      out += digits + std::string(size_t(exponent) + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, size_t(exponent) + 1) + "." + digits.substr(size_t(exponent) + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out;
}

int64_t find(std::string_view s, std::string_view needle, int64_t start, int64_t end, bool reverse) {
  const std::vector<size_t> at = offsets(s);
  const int64_t n = int64_t(at.size()) - 1;
  const auto clamp = [n](int64_t i) { return i < 0 ? std::max<int64_t>(0, i + n) : std::min(i, n); };
  start = clamp(start);
  end = clamp(end);
  if (end < start || int64_t(needle.size()) > int64_t(at[size_t(end)] - at[size_t(start)])) {
    return needle.empty() && start <= end ? (reverse ? end : start) : -1;
  }
  const std::string_view window = s.substr(at[size_t(start)], at[size_t(end)] - at[size_t(start)]);
  const size_t found = reverse ? window.rfind(needle) : window.find(needle);
  if (found == std::string_view::npos) return -1;
  const size_t byte = at[size_t(start)] + found;
  return int64_t(std::lower_bound(at.begin(), at.end(), byte) - at.begin());
}

int64_t count(std::string_view s, std::string_view needle) {
  if (needle.empty()) return int64_t(length(s)) + 1;
  int64_t n = 0;
  for (size_t at = s.find(needle); at != std::string_view::npos; at = s.find(needle, at + needle.size())) ++n;
  return n;
}

}  // namespace vkgraph::jinja::text
