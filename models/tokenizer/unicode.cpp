// UTF-8 validation and decoding, category lookups and GPT-2's byte alphabet.

#include "models/tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace vkgraph::unicode {

namespace {

bool in_ranges(const CodepointRange* ranges, size_t count, uint32_t cp) {
  const CodepointRange* end = ranges + count;
  const CodepointRange* it =
      std::upper_bound(ranges, end, cp, [](uint32_t value, const CodepointRange& r) { return value < r.first; });
  if (it == ranges) return false;
  --it;
  return cp <= it->last;
}

// GPT-2's alphabet keeps the printable Latin-1 bytes as themselves and moves the others
// (controls, space, DEL, NBSP, soft hyphen) to U+0100 upwards, in byte order.
struct ByteAlphabet {
  std::array<uint32_t, 256> to_cp{};
  std::array<int, 324> to_byte{};  // indexed by code point; the alphabet ends below U+0144
  ByteAlphabet() {
    to_byte.fill(-1);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
      to_cp[b] = printable ? b : next++;
      to_byte[to_cp[b]] = int(b);
    }
  }
};

const ByteAlphabet& alphabet() {
  static const ByteAlphabet table;
  return table;
}

}  // namespace

bool is_letter(uint32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return in_ranges(kLetterRanges, kLetterRanges_count, cp);
}

bool is_number(uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return in_ranges(kNumberRanges, kNumberRanges_count, cp);
}

bool is_whitespace(uint32_t cp) {
  // The White_Space property (PropList.txt), which is what \s means in the patterns.
  return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

size_t utf8_valid_length(std::string_view text, size_t pos) {
  if (pos >= text.size()) return 0;
  const auto byte = [&](size_t i) { return uint8_t(text[pos + i]); };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t length = 0;
  uint32_t min_cp = 0;
  uint32_t cp = 0;
  if ((b0 & 0xe0) == 0xc0) {
    length = 2, min_cp = 0x80, cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    length = 3, min_cp = 0x800, cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    length = 4, min_cp = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i) & 0x3f);
  }
  if (cp < min_cp || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return length;
}

uint32_t utf8_decode(std::string_view text, size_t pos, size_t length) {
  const uint8_t b0 = uint8_t(text[pos]);
  if (length == 1) return b0;
  uint32_t cp = b0 & (0x7f >> length);
  for (size_t i = 1; i < length; ++i) cp = (cp << 6) | (uint8_t(text[pos + i]) & 0x3f);
  return cp;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

size_t utf8_first_invalid(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = utf8_valid_length(text, pos);
    if (n == 0) return pos;
    pos += n;
  }
  return std::string_view::npos;
}

uint32_t byte_to_codepoint(uint8_t byte) { return alphabet().to_cp[byte]; }

int codepoint_to_byte(uint32_t cp) {
  const ByteAlphabet& a = alphabet();
  return cp < a.to_byte.size() ? a.to_byte[cp] : -1;
}

}  // namespace vkgraph::unicode
