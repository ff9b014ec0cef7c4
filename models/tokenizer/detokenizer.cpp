// From ids back to text: each token's bytes, and a streaming decoder that only ever emits whole,
// valid UTF-8 characters.

#include "engine/core/error.h"
#include "models/tokenizer/tokenizer.h"
#include "models/tokenizer/tokenizer_impl.h"
#include "models/tokenizer/unicode.h"

namespace vkgraph {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kSpaceMark = "\xE2\x96\x81";    // U+2581, SentencePiece's space

// Bytes a valid sequence starting with `lead` has, 0 when `lead` cannot start one.
size_t sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

// "<0x0A>" -> 0x0A; -1 when the text is not of that form.
int parse_byte_token(const std::string& text) {
  if (text.size() != 6 || text.compare(0, 3, "<0x") != 0 || text[5] != '>') return -1;
  int value = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = text[i];
    const int digit = (c >= '0' && c <= '9')   ? c - '0'
                      : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                      : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                               : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

}  // namespace

std::string utf8_take_complete(std::string& pending, std::string_view bytes) {
  std::string buffer = std::move(pending);
  buffer.append(bytes);
  pending.clear();
  std::string out;
  for (size_t pos = 0; pos < buffer.size();) {
    const size_t n = unicode::utf8_valid_length(buffer, pos);
    if (n > 0) {
      out.append(buffer, pos, n);
      pos += n;
      continue;
    }
    // An incomplete sequence at the end waits for the next token's bytes.
    const size_t want = sequence_length(uint8_t(buffer[pos]));
    const size_t have = buffer.size() - pos;
    bool continuation_only = true;
    for (size_t i = pos + 1; i < buffer.size(); ++i) continuation_only &= (uint8_t(buffer[i]) & 0xc0) == 0x80;
    if (want > have && continuation_only) {
      pending.assign(buffer, pos, have);
      break;
    }
    out += kReplacement;  // a byte that can never start or continue this character
    pos += 1;
  }
  return out;
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  const Impl& m = *impl_;
  const std::string& text = token_text(id);
  const TokenType type = m.type[size_t(id)];
  switch (type) {
    case TokenType::Control:
    case TokenType::Unknown:
      return render_special ? text : std::string();
    case TokenType::UserDefined:
      return text;
    case TokenType::Unused:
    case TokenType::Undefined:
      return {};
    case TokenType::Byte:
      if (m.kind == TokenizerKind::Spm) {
        const int byte = parse_byte_token(text);
        if (byte >= 0) return std::string(1, char(byte));
      }
      break;
    case TokenType::Normal:
      break;
  }
  std::string out;
  if (m.kind == TokenizerKind::Spm) {
    for (size_t pos = 0; pos < text.size();) {
      if (text.compare(pos, kSpaceMark.size(), kSpaceMark) == 0) {
        out += ' ';
        pos += kSpaceMark.size();
      } else {
        out += text[pos++];
      }
    }
    return out;
  }
  // Byte-level BPE: map each alphabet character back to its byte.
  for (size_t pos = 0; pos < text.size();) {
    size_t n = unicode::utf8_valid_length(text, pos);
    if (n == 0) {
      out += text[pos++];
      continue;
    }
    const uint32_t cp = unicode::utf8_decode(text, pos, n);
    const int byte = unicode::codepoint_to_byte(cp);
    if (byte >= 0) {
      out += char(byte);
    } else {
      out.append(text, pos, n);  // not of the alphabet: keep the character itself
    }
    pos += n;
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  StreamingDecoder decoder(*this, true, render_special);
  std::string out;
  for (int32_t id : ids) out += decoder.push(id);
  out += decoder.finish();
  return out;
}

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool strip_leading_space, bool render_special)
    : tokenizer_(&tokenizer),
      strip_space_(strip_leading_space && tokenizer.add_space_prefix()),
      render_special_(render_special) {}

std::string StreamingDecoder::push(int32_t id) {
  std::string piece = tokenizer_->token_to_piece(id, render_special_);
  if (strip_space_) {
    // Only the first token of the text carries the space that encoding added.
    if (!piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    strip_space_ = false;
  }
  return utf8_take_complete(pending_, piece);
}

std::string StreamingDecoder::finish() {
  const bool had_pending = !pending_.empty();
  pending_.clear();
  return had_pending ? std::string(kReplacement) : std::string();
}

}  // namespace vkgraph
