#pragma once
// The bits of Unicode the tokenizers need: UTF-8 decoding with validation, the categories
// \p{L} / \p{N} / \s of the pre-tokenizer patterns, and GPT-2's byte <-> code point alphabet.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vkgraph::unicode {

struct CodepointRange {
  uint32_t first;
  uint32_t last;  // inclusive
};
// Generated tables (unicode_tables.cpp), sorted and disjoint.
extern const CodepointRange kLetterRanges[];
extern const size_t kLetterRanges_count;
extern const CodepointRange kNumberRanges[];
extern const size_t kNumberRanges_count;

bool is_letter(uint32_t cp);      // \p{L}
bool is_number(uint32_t cp);      // \p{N}
bool is_whitespace(uint32_t cp);  // \s: the White_Space property

// Length of the valid UTF-8 sequence starting at text[pos], or 0 when the bytes there are not
// one (bad lead byte, bad continuation, overlong form, surrogate, beyond U+10FFFF, truncated).
size_t utf8_valid_length(std::string_view text, size_t pos);
// Decodes the valid sequence at text[pos] (check with utf8_valid_length first).
uint32_t utf8_decode(std::string_view text, size_t pos, size_t length);
void utf8_append(std::string& out, uint32_t cp);
// Byte offset of the first invalid sequence, or npos when `text` is valid UTF-8.
size_t utf8_first_invalid(std::string_view text);

// GPT-2's byte-level alphabet: every byte value as a printable code point ("Ġ" for a space).
uint32_t byte_to_codepoint(uint8_t byte);
// The byte a code point of that alphabet stands for, or -1 for any other code point.
int codepoint_to_byte(uint32_t cp);

}  // namespace vkgraph::unicode
