#pragma once
// Text <-> token ids, built from a GGUF file's `tokenizer.ggml.*` metadata.
//   model "llama": SentencePiece-style BPE over score-ranked merges with byte fallback (<0xXX>).
//   model "gpt2":  byte-level BPE over ranked merges, after a pre-tokenizer split chosen by
//                  `tokenizer.ggml.pre` (llama-bpe / llama3, qwen2, smollm, gpt2, ...).
// Both give the ids llama.cpp gives for the same text and file.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vkgraph::gguf {
class GgufFile;
}

namespace vkgraph {

// `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

enum class TokenizerKind { Spm, Bpe };

class Tokenizer {
 public:
  // Throws an Error naming the file and key when the metadata is missing or inconsistent, and
  // naming the model/pre-tokenizer when it is not supported. The tokenizer copies what it needs:
  // the file may be closed afterwards. Copies of a Tokenizer share one immutable vocabulary.
  static Tokenizer from_gguf(const gguf::GgufFile& file);

  // `text` must be valid UTF-8 (an Error names the byte offset otherwise). With `parse_special`,
  // the text of control and user-defined tokens (e.g. "<|im_start|>") becomes that token.
  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const;

  // The bytes a token stands for: "▁" becomes a space, <0x0A> the byte 0x0A, GPT-2's byte
  // alphabet is mapped back. May be an incomplete UTF-8 sequence; see StreamingDecoder. Control
  // tokens give their text when `render_special`, nothing otherwise.
  std::string token_to_piece(int32_t id, bool render_special = true) const;

  // All pieces joined, invalid UTF-8 replaced by U+FFFD. For SentencePiece vocabularies the
  // space encode() put in front is removed, so encode(decode(ids)) == ids.
  std::string decode(std::span<const int32_t> ids, bool render_special = true) const;

  TokenizerKind kind() const;
  const std::string& model_name() const;  // "llama" or "gpt2"
  const std::string& pre_name() const;    // `tokenizer.ggml.pre`, "" when absent
  size_t vocab_size() const;
  const std::string& token_text(int32_t id) const;  // as stored in the vocabulary
  TokenType token_type(int32_t id) const;
  std::optional<int32_t> find_token(std::string_view text) const;

  int32_t bos() const;  // -1 when the vocabulary has none
  int32_t eos() const;
  int32_t eot() const;   // end of turn (<|eot_id|>, <|im_end|>, <end_of_turn>); -1 when none
  bool add_bos() const;  // `tokenizer.ggml.add_bos_token` (default: true for llama, false for gpt2)
  bool add_space_prefix() const;
  bool is_eog(int32_t id) const;  // eos, eot and the other end-of-generation tokens

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Turns a stream of token ids into text that is always valid UTF-8: bytes of a character split
// across tokens (byte-fallback tokens, GPT-2 bytes) are held back until the character is
// complete; bytes that can never form a character come out as U+FFFD.
class StreamingDecoder {
 public:
  // With `strip_leading_space`, the first space of the stream is dropped when the vocabulary adds
  // a space prefix (use it when the stream starts at the beginning of a text).
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool strip_leading_space = false, bool render_special = true);

  std::string push(int32_t id);  // the complete characters this token finishes
  std::string finish();          // what is still held back, as U+FFFD; resets the decoder

 private:
  const Tokenizer* tokenizer_;
  bool strip_space_;
  bool render_special_;
  std::string pending_;  // an incomplete UTF-8 sequence
};

// Appends complete, valid UTF-8 from `bytes` (after `pending`) to the result and keeps a trailing
// incomplete sequence in `pending`; invalid bytes become U+FFFD. The engine of StreamingDecoder.
std::string utf8_take_complete(std::string& pending, std::string_view bytes);

}  // namespace vkgraph
