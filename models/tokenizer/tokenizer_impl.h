#pragma once
// The vocabulary and rules shared by the tokenizer's parts (loading, the two encoders, the
// decoder). Internal to models/tokenizer.

#include <string>
#include <unordered_map>
#include <vector>

#include "models/tokenizer/pretokenizer.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph {

struct Tokenizer::Impl {
  TokenizerKind kind = TokenizerKind::Spm;
  std::string model;  // "llama" or "gpt2"
  std::string pre;
  PreTokenizer pre_tokenizer = PreTokenizer::Gpt2;

  std::vector<std::string> text;  // token id -> text as stored
  std::vector<float> score;
  std::vector<TokenType> type;
  std::unordered_map<std::string, int32_t> id_of;  // text -> id (the last id wins on duplicates)

  // BPE: "left right" -> merge rank (lower merges first).
  std::unordered_map<std::string, int32_t> merge_rank;
  // SPM: byte value -> its <0xXX> token, -1 when the vocabulary lacks it.
  int32_t byte_token[256];

  // Tokens matched as whole units in text: control, user-defined and unknown ones, longest
  // text first (so "<|im_start|>" wins over any shorter special that is its prefix).
  std::vector<int32_t> specials;

  int32_t bos = -1, eos = -1, eot = -1, unk = -1;
  bool add_bos = false;
  bool add_space_prefix = false;
  bool ignore_merges = false;  // Llama 3: a word that is itself a token skips merging
  std::vector<int32_t> eog;    // sorted

  int32_t lookup(const std::string& s) const {
    auto it = id_of.find(s);
    return it == id_of.end() ? -1 : it->second;
  }

  // Appends the ids of `text` (no specials inside) to `out`.
  void encode_spm(const std::string& input, std::vector<int32_t>& out) const;
  void encode_bpe(std::string_view input, std::vector<int32_t>& out) const;
};

}  // namespace vkgraph
