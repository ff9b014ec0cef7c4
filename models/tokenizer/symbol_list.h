#pragma once
// The working list of both BPE encoders (SentencePiece-style and byte-level): a word split into
// characters, kept as a doubly linked list over one vector so that merging two neighbours is
// O(1) and the indices held by queued pairs stay valid.

#include <cstddef>
#include <string_view>
#include <vector>

#include "models/tokenizer/unicode.h"

namespace vkgraph {

struct Symbol {
  int prev;       // index of the left neighbour, -1 at the start
  int next;       // index of the right neighbour, -1 at the end
  size_t begin;   // byte range in the text the list was split from
  size_t length;  // 0 once merged into its left neighbour
};

// One symbol per UTF-8 character of `text`; a byte that starts no valid character is a symbol
// of its own (the input was validated before, this only keeps the loop going).
inline std::vector<Symbol> split_characters(std::string_view text) {
  std::vector<Symbol> symbols;
  for (size_t pos = 0; pos < text.size();) {
    size_t n = unicode::utf8_valid_length(text, pos);
    if (n == 0) n = 1;
    const int index = int(symbols.size());
    symbols.push_back({index - 1, index + 1, pos, n});
    pos += n;
  }
  if (!symbols.empty()) symbols.back().next = -1;
  return symbols;
}

// Merges symbols[right] into its left neighbour symbols[left]; `right` is left empty.
inline void merge_symbols(std::vector<Symbol>& symbols, int left, int right) {
  Symbol& l = symbols[size_t(left)];
  Symbol& r = symbols[size_t(right)];
  l.length += r.length;
  r.length = 0;
  l.next = r.next;
  if (r.next >= 0) symbols[size_t(r.next)].prev = left;
}

}  // namespace vkgraph
