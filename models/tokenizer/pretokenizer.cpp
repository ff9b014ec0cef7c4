// Hand-written matchers for the pre-tokenizer patterns (see pretokenizer.h). Each matcher works
// inside one fragment of code points: the fragment's end acts as the end of the text, as it does
// when a pattern runs on the pieces a previous pattern produced.

#include "models/tokenizer/pretokenizer.h"

#include <string>

#include "models/tokenizer/unicode.h"

namespace vkgraph {

namespace {

struct Codepoints {
  std::vector<uint32_t> cp;
  std::vector<size_t> offset;  // byte offset of each code point, plus the text's size at the end
};

Codepoints decode_all(std::string_view text) {
  Codepoints out;
  for (size_t pos = 0; pos < text.size();) {
    size_t n = unicode::utf8_valid_length(text, pos);
    const uint32_t cp = n ? unicode::utf8_decode(text, pos, n) : 0xfffd;
    if (n == 0) n = 1;  // callers validate; a stray byte still advances
    out.cp.push_back(cp);
    out.offset.push_back(pos);
    pos += n;
  }
  out.offset.push_back(text.size());
  return out;
}

bool is_other(uint32_t c) {  // [^\s\p{L}\p{N}]
  return !unicode::is_whitespace(c) && !unicode::is_letter(c) && !unicode::is_number(c);
}
bool is_newline(uint32_t c) { return c == '\r' || c == '\n'; }
uint32_t lower_ascii(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// Length of a contraction ('s 't 're 've 'm 'll 'd) at `pos`, 0 when none.
size_t match_contraction(const std::vector<uint32_t>& cp, size_t pos, size_t end, bool ignore_case) {
  if (cp[pos] != '\'' || pos + 1 >= end) return 0;
  const auto norm = [&](uint32_t c) { return ignore_case ? lower_ascii(c) : c; };
  const uint32_t a = norm(cp[pos + 1]);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (pos + 2 < end) {
    const uint32_t b = norm(cp[pos + 2]);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  return 0;
}

template <typename Pred>
size_t run_end(const std::vector<uint32_t>& cp, size_t pos, size_t end, Pred pred) {
  while (pos < end && pred(cp[pos])) ++pos;
  return pos;
}

// \s+(?!\S) with \s+ as the fallback: a whitespace run, leaving its last character to the next
// word when non-whitespace follows inside the fragment.
size_t match_whitespace_tail(const std::vector<uint32_t>& cp, size_t pos, size_t end) {
  const size_t j = run_end(cp, pos, end, unicode::is_whitespace);
  if (j == pos) return 0;
  if (j < end && j - pos >= 2) return j - 1 - pos;
  return j - pos;
}

void split_gpt2(const Codepoints& t, size_t begin, size_t end, std::vector<size_t>& cuts) {
  const auto& cp = t.cp;
  for (size_t pos = begin; pos < end;) {
    size_t n = match_contraction(cp, pos, end, false);
    if (!n) {
      // ` ?X+` for X in \p{L}, \p{N}, [^\s\p{L}\p{N}]
      const size_t start = (cp[pos] == ' ' && pos + 1 < end) ? pos + 1 : pos;
      for (auto pred : {unicode::is_letter, unicode::is_number, is_other}) {
        if (pred(cp[start])) {
          n = run_end(cp, start, end, pred) - pos;
          break;
        }
      }
    }
    if (!n) n = match_whitespace_tail(cp, pos, end);
    if (!n) n = 1;
    pos += n;
    cuts.push_back(pos);
  }
}

void split_llama3(const Codepoints& t, size_t begin, size_t end, size_t max_digits, std::vector<size_t>& cuts) {
  const auto& cp = t.cp;
  for (size_t pos = begin; pos < end;) {
    const uint32_t c = cp[pos];
    size_t n = match_contraction(cp, pos, end, true);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!n) {
      if (unicode::is_letter(c)) {
        n = run_end(cp, pos, end, unicode::is_letter) - pos;
      } else if (!is_newline(c) && !unicode::is_number(c) && pos + 1 < end && unicode::is_letter(cp[pos + 1])) {
        n = run_end(cp, pos + 1, end, unicode::is_letter) - pos;
      }
    }
    // \p{N}{1,max}
    if (!n && unicode::is_number(c)) {
      n = run_end(cp, pos, std::min(end, pos + max_digits), unicode::is_number) - pos;
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    if (!n) {
      const size_t start = (c == ' ' && pos + 1 < end) ? pos + 1 : pos;
      if (is_other(cp[start])) {
        const size_t j = run_end(cp, start, end, is_other);
        n = run_end(cp, j, end, is_newline) - pos;
      }
    }
    // \s*[\r\n]+ : the whitespace run up to and including its last newline
    if (!n && unicode::is_whitespace(c)) {
      const size_t j = run_end(cp, pos, end, unicode::is_whitespace);
      for (size_t k = j; k-- > pos;) {
        if (is_newline(cp[k])) {
          n = k + 1 - pos;
          break;
        }
      }
    }
    if (!n) n = match_whitespace_tail(cp, pos, end);
    if (!n) n = 1;
    pos += n;
    cuts.push_back(pos);
  }
}

// Each \p{N} code point becomes its own fragment; the runs between them stay whole.
std::vector<size_t> split_numbers(const Codepoints& t) {
  std::vector<size_t> cuts;
  const size_t n = t.cp.size();
  for (size_t pos = 0; pos < n;) {
    pos = unicode::is_number(t.cp[pos]) ? pos + 1
                                        : run_end(t.cp, pos, n, [](uint32_t c) { return !unicode::is_number(c); });
    cuts.push_back(pos);
  }
  return cuts;
}

}  // namespace

std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view pre) {
  // Names as llama.cpp's converter writes them; several models share a pattern.
  if (pre.empty() || pre == "gpt2" || pre == "gpt-2" || pre == "mpt" || pre == "olmo" || pre == "jais") {
    return PreTokenizer::Gpt2;
  }
  if (pre == "smollm" || pre == "starcoder" || pre == "refact" || pre == "command-r" || pre == "codeshell" ||
      pre == "exaone" || pre == "minerva-7b") {
    return PreTokenizer::Smollm;
  }
  if (pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3" || pre == "falcon3" || pre == "pixtral") {
    return PreTokenizer::Llama3;
  }
  if (pre == "qwen2" || pre == "stablelm2" || pre == "deepseek-r1-qwen" || pre == "megrez") return PreTokenizer::Qwen2;
  return std::nullopt;
}

std::vector<std::string_view> pre_tokenize(PreTokenizer kind, std::string_view text) {
  const Codepoints t = decode_all(text);
  const size_t n = t.cp.size();
  std::vector<size_t> cuts;  // code point indices where words end
  switch (kind) {
    case PreTokenizer::Gpt2:
      split_gpt2(t, 0, n, cuts);
      break;
    case PreTokenizer::Llama3:
      split_llama3(t, 0, n, 3, cuts);
      break;
    case PreTokenizer::Qwen2:
      split_llama3(t, 0, n, 1, cuts);
      break;
    case PreTokenizer::Smollm: {
      size_t begin = 0;
      for (size_t end : split_numbers(t)) {
        split_gpt2(t, begin, end, cuts);
        begin = end;
      }
      break;
    }
  }
  std::vector<std::string_view> words;
  words.reserve(cuts.size());
  size_t begin = 0;
  for (size_t end : cuts) {
    words.push_back(text.substr(t.offset[begin], t.offset[end] - t.offset[begin]));
    begin = end;
  }
  return words;
}

}  // namespace vkgraph
