// SentencePiece-style BPE (tokenizer.ggml.model = "llama"): start from single characters and
// repeatedly merge the adjacent pair whose merged text is the vocabulary entry with the highest
// score (ties: the leftmost pair). Characters no token covers fall back to <0xXX> byte tokens.

#include <queue>

#include "engine/core/error.h"
#include "models/tokenizer/symbol_list.h"
#include "models/tokenizer/tokenizer_impl.h"

namespace vkgraph {

namespace {

struct Bigram {
  int left;
  int right;
  float score;
  size_t length;
};

struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    // priority_queue pops the largest: highest score, then the leftmost.
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void Tokenizer::Impl::encode_spm(const std::string& input, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols = split_characters(input);
  if (symbols.empty()) return;

  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  std::string scratch;
  const auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[size_t(left)];
    const Symbol& r = symbols[size_t(right)];
    scratch.assign(input, l.begin, l.length + r.length);
    const int32_t id = lookup(scratch);
    if (id < 0) return;
    queue.push({left, right, score[size_t(id)], l.length + r.length});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_add(int(i) - 1, int(i));

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    const Symbol& l = symbols[size_t(b.left)];
    const Symbol& r = symbols[size_t(b.right)];
    // A pair whose symbols changed since it was queued is stale.
    if (l.length == 0 || r.length == 0 || l.length + r.length != b.length || l.next != b.right) continue;
    merge_symbols(symbols, b.left, b.right);
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int i = 0; i >= 0; i = symbols[size_t(i)].next) {
    const Symbol& s = symbols[size_t(i)];
    const int32_t id = lookup(input.substr(s.begin, s.length));
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Only single characters reach here (merges always produce vocabulary entries).
    for (size_t k = 0; k < s.length; ++k) {
      const uint8_t byte = uint8_t(input[s.begin + k]);
      int32_t fallback = byte_token[byte];
      if (fallback < 0) fallback = lookup(std::string(1, char(byte)));
      if (fallback < 0) fallback = unk;
      if (fallback < 0) {
        fail("tokenizer: byte 0x{:02X} has no token (no <0x{:02X}> byte token and no unknown token)", byte, byte);
      }
      out.push_back(fallback);
    }
  }
}

}  // namespace vkgraph
