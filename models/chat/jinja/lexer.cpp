// The lexer follows Jinja2's (lexer.py) rule by rule, since whitespace handling decides the exact
// bytes of a prompt: the text before a tag is stripped by the tag's `-`, or by lstrip_blocks when
// only whitespace precedes the tag on its line (or the previous tag ended a line); inside a tag
// the end marker is only recognized while brackets are balanced, so `{{ {'a': 1} }}` works.

#include "models/chat/jinja/lexer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "models/chat/jinja/error.h"
#include "models/chat/jinja/text.h"
#include "models/tokenizer/unicode.h"

namespace vkgraph::jinja {

namespace {

// Jinja2 normalizes every line ending to \n and drops one trailing newline.
std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const size_t open = find_tag(pos_);
      if (open == std::string::npos) {
        emit_data(pos_, src_.substr(pos_));
        break;
      }
      const char kind = src_[open + 1];
      size_t after = open + 2;
      const char sign = after < src_.size() && (src_[after] == '-' || src_[after] == '+') ? src_[after] : 0;
      if (sign) ++after;
      const size_t raw_end = kind == '%' ? match_raw_begin(after) : std::string::npos;
      std::string text = src_.substr(pos_, open - pos_);
      strip_before_tag(text, sign, kind != '{');
      emit_data(pos_, std::move(text));
      if (raw_end != std::string::npos) {
        line_starting_ = src_[raw_end - 1] == '\n';
        raw_body(raw_end);
      } else if (kind == '#') {
        comment(after, open);
      } else {
        tag(kind, after, open);
      }
    }
    tokens_.push_back(Token{TokenType::End, "", 0, 0, line_of(src_.size()), column_of(src_.size())});
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void fail_at(size_t at, const std::string& message) const {
    throw Error(ErrorKind::Syntax, message, line_of(at), column_of(at));
  }

  int line_of(size_t at) const {
    return int(std::upper_bound(line_starts_.begin(), line_starts_.end(), at) - line_starts_.begin());
  }
  int column_of(size_t at) const { return int(at - line_starts_[size_t(line_of(at) - 1)]) + 1; }  // in bytes

  // The next "{{", "{%" or "{#" at or after `from`.
  size_t find_tag(size_t from) const {
    for (size_t at = src_.find('{', from); at != std::string::npos; at = src_.find('{', at + 1)) {
      if (at + 1 < src_.size() && (src_[at + 1] == '{' || src_[at + 1] == '%' || src_[at + 1] == '#')) return at;
    }
    return std::string::npos;
  }

  bool space_at(size_t at, size_t& n) const { return at < src_.size() && text::is_space(text::decode_at(src_, at, n)); }
  size_t skip_space(size_t at) const {
    size_t n = 0;
    while (space_at(at, n)) at += n;
    return at;
  }

  // `{%[-+]? \s* raw \s* (-%}\s* | %})`: the end of the opening raw tag, or npos.
  size_t match_raw_begin(size_t after_sign) const {
    size_t at = skip_space(after_sign);
    if (src_.compare(at, 3, "raw") != 0) return std::string::npos;
    at = skip_space(at + 3);
    if (src_.compare(at, 3, "-%}") == 0) return skip_space(at + 3);
    if (src_.compare(at, 2, "%}") == 0) return at + 2;
    return std::string::npos;
  }

  void strip_before_tag(std::string& text, char sign, bool lstrip_applies) const {
    if (sign == '-') {
      text.resize(text::strip(text, std::nullopt, false, true).size());
      return;
    }
    if (sign == '+' || !lstrip_applies) return;
    const size_t line_start = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
    if (line_start == 0 && !line_starting_) return;
    const std::string_view tail = std::string_view(text).substr(line_start);
    if (!tail.empty() && text::strip(tail, std::nullopt, true, false).empty()) text.resize(line_start);
  }

  void emit_data(size_t at, std::string text) {
    if (text.empty()) return;
    tokens_.push_back(Token{TokenType::Data, std::move(text), 0, 0, line_of(at), column_of(at)});
  }

  // The end marker of a block or comment at `at`: `+%}` (keeps what follows), `-%}` (and the
  // whitespace after it) or `%}` (and, with trim_blocks, one newline). Returns where the text
  // resumes, or npos when no end marker is there.
  size_t match_block_end(size_t at, char close) const {
    const char end[3] = {close, '}', 0};
    if ((src_[at] == '+' || src_[at] == '-') && src_.compare(at + 1, 2, end) == 0) {
      return src_[at] == '+' ? at + 3 : skip_space(at + 3);
    }
    if (src_.compare(at, 2, end) == 0) return at + 2 < src_.size() && src_[at + 2] == '\n' ? at + 3 : at + 2;
    return std::string::npos;
  }

  void comment(size_t body, size_t open) {
    for (size_t at = body; at < src_.size(); ++at) {
      const size_t resume = match_block_end(at, '#');
      if (resume != std::string::npos) {
        line_starting_ = src_[resume - 1] == '\n';
        pos_ = resume;
        return;
      }
    }
    fail_at(open, "missing end of comment tag");
  }

  void raw_body(size_t body) {
    for (size_t at = src_.find("{%", body); at != std::string::npos; at = src_.find("{%", at + 1)) {
      size_t p = at + 2;
      const char sign = p < src_.size() && (src_[p] == '-' || src_[p] == '+') ? src_[p] : 0;
      if (sign) ++p;
      p = skip_space(p);
      if (src_.compare(p, 6, "endraw") != 0) continue;
      p = skip_space(p + 6);
      if (p >= src_.size()) break;
      const size_t resume = match_block_end(p, '%');
      if (resume == std::string::npos) continue;
      std::string text = src_.substr(body, at - body);
      strip_before_tag(text, sign, true);
      emit_data(body, std::move(text));
      line_starting_ = src_[resume - 1] == '\n';
      pos_ = resume;
      return;
    }
    fail_at(body, "missing end of raw directive");
  }

  void tag(char kind, size_t at, size_t open) {
    const bool block = kind == '%';
    tokens_.push_back(
        Token{block ? TokenType::BlockBegin : TokenType::VariableBegin, "", 0, 0, line_of(open), column_of(open)});
    std::vector<char> brackets;  // the closers expected, innermost last
    while (true) {
      if (at >= src_.size())
        fail_at(open, block ? "unexpected end of template inside a block tag ('%}' missing)"
                            : "unexpected end of template inside '{{' ('}}' missing)");
      if (brackets.empty()) {
        size_t resume = std::string::npos;
        if (block) {
          resume = match_block_end(at, '%');
        } else if (src_.compare(at, 3, "-}}") == 0) {
          resume = skip_space(at + 3);
        } else if (src_.compare(at, 2, "}}") == 0) {
          resume = at + 2;
        }
        if (resume != std::string::npos) {
          tokens_.push_back(
              Token{block ? TokenType::BlockEnd : TokenType::VariableEnd, "", 0, 0, line_of(at), column_of(at)});
          line_starting_ = src_[resume - 1] == '\n';
          pos_ = resume;
          return;
        }
      }
      size_t n = 0;
      if (space_at(at, n)) {
        at = skip_space(at);
        continue;
      }
      at = token(at, brackets);
    }
  }

  // One token inside a tag at `at`; returns the position after it.
  size_t token(size_t at, std::vector<char>& brackets) {
    const char c = src_[at];
    Token t{TokenType::Operator, "", 0, 0, line_of(at), column_of(at)};
    if (is_digit(c)) return number(at, t);
    size_t n = 0;
    const uint32_t cp = text::decode_at(src_, at, n);
    if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (cp >= 0x80 && unicode::is_letter(cp))) {
      size_t end = at;
      while (end < src_.size()) {
        const uint32_t d = text::decode_at(src_, end, n);
        if (!(d == '_' || (d < 0x80 && std::isalnum(int(d))) ||
              (d >= 0x80 && (unicode::is_letter(d) || unicode::is_number(d))))) {
          break;
        }
        end += n;
      }
      t.type = TokenType::Name;
      t.text = src_.substr(at, end - at);
      tokens_.push_back(std::move(t));
      return end;
    }
    if (c == '\'' || c == '"') return string(at, t);
    static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
    for (std::string_view op : kTwo) {
      if (src_.compare(at, 2, op) == 0) {
        t.text = std::string(op);
        tokens_.push_back(std::move(t));
        return at + 2;
      }
    }
    if (std::string_view("+-/*%~[](){}><=.:|,;").find(c) == std::string_view::npos) {
      fail_at(at, fmt::format("unexpected character '{}'", src_.substr(at, n)));
    }
    if (c == '(' || c == '[' || c == '{') {
      brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (brackets.empty()) fail_at(at, fmt::format("unexpected '{}'", c));
      if (brackets.back() != c) fail_at(at, fmt::format("unexpected '{}', expected '{}'", c, brackets.back()));
      brackets.pop_back();
    }
    t.text = std::string(1, c);
    tokens_.push_back(std::move(t));
    return at + 1;
  }

  // Digits with optional '_' between them.
  size_t digits(size_t at, bool (*digit)(char)) const {
    size_t end = at;
    while (end < src_.size() &&
           (digit(src_[end]) || (src_[end] == '_' && end + 1 < src_.size() && end > at && digit(src_[end + 1])))) {
      ++end;
    }
    return end;
  }

  size_t number(size_t at, Token& t) {
    const auto strip_underscores = [](std::string s) {
      s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
      return s;
    };
    // A float: digits with a fraction and/or an exponent, not right after a '.' (x.0.1 is items).
    size_t end = digits(at, is_digit);
    bool is_float = false;
    if (at == 0 || src_[at - 1] != '.') {
      size_t p = end;
      if (p + 1 < src_.size() && src_[p] == '.' && is_digit(src_[p + 1])) {
        p = digits(p + 1, is_digit);
        is_float = true;
      }
      if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
        size_t q = p + 1;
        if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
        if (q < src_.size() && is_digit(src_[q])) {
          p = digits(q, is_digit);
          is_float = true;
        }
      }
      if (is_float) end = p;
    }
    const std::string text = strip_underscores(src_.substr(at, end - at));
    if (is_float) {
      t.type = TokenType::Float;
      t.real = std::strtod(text.c_str(), nullptr);
      t.text = text;
      tokens_.push_back(std::move(t));
      return end;
    }
    // Integers: 0b / 0o / 0x prefixes, or decimal (no leading zeros but zero itself).
    int base = 10;
    size_t digits_at = at;
    if (src_[at] == '0' && at + 1 < src_.size()) {
      const char p = char(std::tolower(uint8_t(src_[at + 1])));
      if (p == 'b' || p == 'o' || p == 'x') {
        base = p == 'b' ? 2 : p == 'o' ? 8 : 16;
        digits_at = at + 2;
        if (digits_at < src_.size() && src_[digits_at] == '_') ++digits_at;
        end = digits(digits_at, base == 16 ? is_hex : is_digit);
        if (end == digits_at) fail_at(at, "invalid number literal");
      } else {
        end = at + 1;  // "0" (and 0_0...): a leading zero does not start a longer decimal number
        while (end + 1 < src_.size() && (src_[end] == '0' || (src_[end] == '_' && src_[end + 1] == '0'))) ++end;
      }
    }
    std::string body = strip_underscores(src_.substr(digits_at, end - digits_at));
    if (base == 2 && body.find_first_not_of("01") != std::string::npos) fail_at(at, "invalid binary literal");
    if (base == 8 && body.find_first_not_of("01234567") != std::string::npos) fail_at(at, "invalid octal literal");
    errno = 0;
    const unsigned long long v = std::strtoull(body.c_str(), nullptr, base);
    if (errno == ERANGE || v > uint64_t(INT64_MAX)) {
      fail_at(at, fmt::format("the integer {} does not fit in 64 bits", src_.substr(at, end - at)));
    }
    t.type = TokenType::Integer;
    t.integer = int64_t(v);
    t.text = src_.substr(at, end - at);
    tokens_.push_back(std::move(t));
    return end;
  }

  // A quoted string with Python's escapes (the ones the unicode-escape codec decodes); an unknown
  // escape keeps its backslash.
  size_t string(size_t at, Token& t) {
    const char quote = src_[at];
    std::string value;
    size_t p = at + 1;
    while (true) {
      if (p >= src_.size()) fail_at(at, "unterminated string");
      const char c = src_[p];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++p;
        continue;
      }
      if (p + 1 >= src_.size()) fail_at(at, "unterminated string");
      p = escape(p + 1, value, at);
    }
    t.type = TokenType::String;
    t.text = std::move(value);
    tokens_.push_back(std::move(t));
    return p + 1;
  }

  // Decodes the escape whose letter is at `p` into `out`; returns the position after it.
  size_t escape(size_t p, std::string& out, size_t string_start) {
    const char e = src_[p];
    const auto hex_value = [&](size_t from, int count) -> uint32_t {
      uint32_t v = 0;
      for (int i = 0; i < count; ++i) {
        if (from + size_t(i) >= src_.size() || !is_hex(src_[from + size_t(i)])) {
          fail_at(string_start, fmt::format("truncated \\{} escape in a string", e));
        }
        const char h = src_[from + size_t(i)];
        v = v * 16 + uint32_t(is_digit(h) ? h - '0' : std::tolower(uint8_t(h)) - 'a' + 10);
      }
      return v;
    };
    const auto put = [&](uint32_t cp) {
      if (cp > 0x10FFFF) fail_at(string_start, "illegal Unicode character in a string escape");
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // a lone surrogate cannot be UTF-8
      text::append_utf8(out, cp);
    };
    switch (e) {
      case '\n':
        return p + 1;  // a line continuation
      case '\\':
        out += '\\';
        return p + 1;
      case '\'':
        out += '\'';
        return p + 1;
      case '"':
        out += '"';
        return p + 1;
      case 'a':
        out += '\a';
        return p + 1;
      case 'b':
        out += '\b';
        return p + 1;
      case 'f':
        out += '\f';
        return p + 1;
      case 'n':
        out += '\n';
        return p + 1;
      case 'r':
        out += '\r';
        return p + 1;
      case 't':
        out += '\t';
        return p + 1;
      case 'v':
        out += '\v';
        return p + 1;
      case 'x':
        put(hex_value(p + 1, 2));
        return p + 3;
      case 'u':
        put(hex_value(p + 1, 4));
        return p + 5;
      case 'U':
        put(hex_value(p + 1, 8));
        return p + 9;
      case 'N':
        fail_at(string_start, "\\N{...} escapes are not supported in template strings");
      default:
        break;
    }
    if (e >= '0' && e <= '7') {
      uint32_t v = 0;
      size_t q = p;
      while (q < p + 3 && q < src_.size() && src_[q] >= '0' && src_[q] <= '7') v = v * 8 + uint32_t(src_[q++] - '0');
      put(v);
      return q;
    }
    out += '\\';
    if (uint8_t(e) >= 0x80) {
      // Jinja2 escapes non-ASCII text before decoding, so "\é" reads as a backslash and "\xe9".
      size_t n = 0;
      const uint32_t cp = text::decode_at(src_, p, n);
      out += cp <= 0xFF     ? fmt::format("\\x{:02x}", cp)
             : cp <= 0xFFFF ? fmt::format("\\u{:04x}", cp)
                            : fmt::format("\\U{:08x}", cp);
      return p + n;
    }
    out += e;
    return p + 1;
  }

  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  bool line_starting_ = true;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
  if (const size_t bad = unicode::utf8_first_invalid(source); bad != std::string_view::npos) {
    const std::string_view before = source.substr(0, bad);
    const size_t newline = before.rfind('\n');
    const size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
    throw Error(ErrorKind::Syntax,
                fmt::format("the template is not valid UTF-8 (byte 0x{:02X} at offset {})", uint8_t(source[bad]), bad),
                int(std::count(before.begin(), before.end(), '\n')) + 1, int(bad - line_start) + 1);
  }
  return Lexer(normalize_newlines(source)).run();
}

}  // namespace vkgraph::jinja
