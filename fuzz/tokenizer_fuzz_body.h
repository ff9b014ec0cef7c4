#pragma once
// The body shared by the two tokenizer targets (SentencePiece and byte-level BPE vocabularies).
// Input: one flag byte (bit 0: add BOS, bit 1: parse special tokens, bit 2: render special
// tokens), then the text. Checked properties, beyond "no crash":
//   - invalid UTF-8 is refused with an Error, valid text always encodes;
//   - every id lies inside the vocabulary;
//   - without special-token parsing, decode(encode(text)) == text when every byte has a token
//     to fall back on (see round_trips);
//   - the streaming decoder emits valid UTF-8, and exactly decode()'s text.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "fuzz/fuzz_check.h"
#include "models/tokenizer/tokenizer.h"
#include "models/tokenizer/unicode.h"

namespace vkgraph::fuzz {

inline bool utf8_valid(std::string_view text) { return unicode::utf8_first_invalid(text) == std::string_view::npos; }

// Whether every byte of `text` has a token to fall back on, so encoding cannot lose it: the
// byte tokens <0xXX> of SentencePiece vocabularies, the GPT-2 byte alphabet of byte-level BPE
// ones. Real vocabularies lack some (SmolLM2 has no token for 0x04, for one); like llama.cpp,
// the tokenizers then drop the byte. SentencePiece also writes spaces as U+2581, so a literal
// U+2581 in the text comes back as a space.
inline bool round_trips(const Tokenizer& tok, std::string_view text) {
  if (tok.kind() == TokenizerKind::Spm && text.find("\xE2\x96\x81") != std::string_view::npos) return false;
  bool seen[256] = {};
  for (unsigned char b : text) {
    if (seen[b]) continue;
    seen[b] = true;
    std::string piece;
    if (tok.kind() == TokenizerKind::Spm) {
      static const char* hex = "0123456789ABCDEF";
      piece = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
    } else {
      unicode::utf8_append(piece, unicode::byte_to_codepoint(b));
    }
    if (!tok.find_token(piece)) return false;
  }
  return true;
}

inline void tokenizer_fuzz_one(const Tokenizer& tok, const uint8_t* data, size_t size) {
  if (size == 0) return;
  const uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool add_bos = flags & 1;
  const bool parse_special = flags & 2;
  const bool render_special = flags & 4;

  std::vector<int32_t> ids;
  try {
    ids = tok.encode(text, add_bos, parse_special);
  } catch (const Error&) {
    require(!utf8_valid(text), "encode throws only for invalid UTF-8");
    return;
  }
  require(utf8_valid(text), "invalid UTF-8 is refused");
  for (int32_t id : ids) require(id >= 0 && size_t(id) < tok.vocab_size(), "token ids lie inside the vocabulary");
  if (add_bos && tok.bos() >= 0) require(!ids.empty() && ids.front() == tok.bos(), "BOS comes first when asked for");

  const std::string decoded = tok.decode(ids, render_special);
  require(utf8_valid(decoded), "decode gives valid UTF-8");
  if (!parse_special && !add_bos && round_trips(tok, text)) require(decoded == text, "decode(encode(text)) == text");

  StreamingDecoder stream(tok, /*strip_leading_space=*/true, render_special);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string piece = stream.push(id);
    require(utf8_valid(piece), "every streamed piece is valid UTF-8");
    streamed += piece;
  }
  streamed += stream.finish();
  require(streamed == decoded, "the streaming decoder gives decode()'s text");
}

}  // namespace vkgraph::fuzz
