// Byte-level BPE (tokenizer.ggml.model = "gpt2"): the pre-tokenizer splits the text into words;
// each word's bytes are spelled in GPT-2's printable byte alphabet and merged pairwise by merge
// rank (lowest first, ties: leftmost) until no ranked pair remains.

#include <queue>

#include "models/tokenizer/symbol_list.h"
#include "models/tokenizer/tokenizer_impl.h"
#include "models/tokenizer/unicode.h"

namespace vkgraph {

namespace {

struct Bigram {
  int left;
  int right;
  int32_t rank;
  std::string text;
};

struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    // priority_queue pops the largest: lowest rank, then the leftmost.
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

void Tokenizer::Impl::encode_bpe(std::string_view input, std::vector<int32_t>& out) const {
  std::string word;
  std::string key;
  for (std::string_view raw : pre_tokenize(pre_tokenizer, input)) {
    word.clear();
    for (char c : raw) unicode::utf8_append(word, unicode::byte_to_codepoint(uint8_t(c)));

    if (ignore_merges) {
      const int32_t whole = lookup(word);
      if (whole >= 0) {
        out.push_back(whole);
        continue;
      }
    }

    std::vector<Symbol> symbols = split_characters(word);  // symbols index the spelled word
    if (symbols.empty()) continue;

    std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
    const auto try_add = [&](int left, int right) {
      if (left < 0 || right < 0) return;
      const Symbol& l = symbols[size_t(left)];
      const Symbol& r = symbols[size_t(right)];
      key.assign(word, l.begin, l.length);
      key += ' ';
      key.append(word, r.begin, r.length);
      auto it = merge_rank.find(key);
      if (it == merge_rank.end()) return;
      queue.push({left, right, it->second, word.substr(l.begin, l.length + r.length)});
    };
    for (size_t i = 1; i < symbols.size(); ++i) try_add(int(i) - 1, int(i));

    while (!queue.empty()) {
      const Bigram b = queue.top();
      queue.pop();
      const Symbol& l = symbols[size_t(b.left)];
      const Symbol& r = symbols[size_t(b.right)];
      if (l.length == 0 || r.length == 0 || l.next != b.right ||
          word.compare(l.begin, l.length + r.length, b.text) != 0) {
        continue;  // stale: one side was merged into something else since
      }
      merge_symbols(symbols, b.left, b.right);
      try_add(l.prev, b.left);
      try_add(b.left, l.next);
    }

    for (int i = 0; i >= 0; i = symbols[size_t(i)].next) {
      const Symbol& s = symbols[size_t(i)];
      const std::string piece = word.substr(s.begin, s.length);
      const int32_t id = lookup(piece);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      // A piece with no token: spell it byte by byte where the vocabulary has the bytes (a full
      // byte-level vocabulary always has every single alphabet character).
      for (size_t pos = 0; pos < piece.size();) {
        const size_t n = unicode::utf8_valid_length(piece, pos);
        const int32_t single = lookup(piece.substr(pos, n));
        if (single >= 0) out.push_back(single);
        pos += n;
      }
    }
  }
}

}  // namespace vkgraph
