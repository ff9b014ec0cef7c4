#pragma once
// Vocabularies for synthetic models: a real one from a Hugging Face tokenizer.json (byte-level
// BPE), or SentencePiece-style placeholders (control tokens, 256 byte tokens, filler pieces).

#include <cstdint>
#include <string>
#include <vector>

namespace vkgraph::gguf {
class GgufWriter;
}

namespace vkgraph::models {

struct SynthVocab {
  std::string model;  // tokenizer.ggml.model: "llama" or "gpt2"
  std::string pre;    // tokenizer.ggml.pre (gpt2 only)
  std::vector<std::string> tokens;
  std::vector<float> scores;        // llama only
  std::vector<int32_t> types;       // llama_token_type values
  std::vector<std::string> merges;  // gpt2 only
  int32_t bos = -1, eos = -1, eot = -1;
  bool add_bos = false;
  std::string chat_template;
};

// `n_vocab` tokens: the file's vocabulary padded with unused tokens up to n_vocab (an Error when
// the file has more than n_vocab).
SynthVocab vocab_from_tokenizer_json(const std::string& path, int64_t n_vocab);
SynthVocab placeholder_vocab(int64_t n_vocab);

void write_vocab(gguf::GgufWriter& writer, const SynthVocab& vocab);

}  // namespace vkgraph::models
