#pragma once
// The chat target's body: chat-template recognition and rendering, and the tokenization of the
// rendered prompt with special tokens (what `vkgraph chat` does with every turn).
// Input: the template text, a 0 byte, then messages separated by 0 bytes; each message's first
// byte picks its role (system, user, assistant, or an arbitrary role name up to the next 0x01
// byte) and the generation-prompt flag comes from the last byte. A family name may also be
// asked for by the template text's first line ("name:<family>").
// Properties: detection is deterministic, an unknown family name is refused with an Error, the
// prompt's size stays proportional to the input, and a prompt of valid UTF-8 messages is valid
// UTF-8 that encodes with the BPE vocabulary into in-range ids.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "fuzz/fuzz_check.h"
#include "models/chat/chat_template.h"
#include "models/tokenizer/tokenizer.h"
#include "models/tokenizer/unicode.h"

namespace vkgraph::fuzz {

namespace detail {

inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

inline bool valid_utf8(std::string_view s) { return unicode::utf8_first_invalid(s) == std::string_view::npos; }

}  // namespace detail

inline void chat_fuzz_one(const Tokenizer& tokenizer, const uint8_t* data, size_t size) {
  if (size == 0) return;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const bool add_generation_prompt = data[size - 1] & 1;
  const std::vector<std::string_view> parts = detail::split(input, '\0');
  const std::string_view template_text = parts[0];

  std::optional<chat::ChatTemplate> tmpl;
  if (template_text.substr(0, 5) == "name:") {
    try {
      tmpl = chat::ChatTemplate::from_name(template_text.substr(5));
    } catch (const Error&) {
      return;
    }
  } else {
    tmpl = chat::ChatTemplate::detect(template_text);
    const chat::ChatTemplate again = chat::ChatTemplate::detect(template_text);
    require(again.family() == tmpl->family() && again.recognized() == tmpl->recognized(), "detection is deterministic");
  }

  std::vector<chat::Message> messages;
  bool all_valid = true;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    if (part.empty()) continue;
    chat::Message m;
    const uint8_t pick = uint8_t(part[0]) % 4;
    part.remove_prefix(1);
    if (pick == 0) {
      m.role = "system";
    } else if (pick == 1) {
      m.role = "user";
    } else if (pick == 2) {
      m.role = "assistant";
    } else {
      const size_t end = part.find('\x01');
      m.role = std::string(part.substr(0, end));
      part = end == std::string_view::npos ? std::string_view() : part.substr(end + 1);
    }
    m.content = std::string(part);
    all_valid = all_valid && detail::valid_utf8(m.role) && detail::valid_utf8(m.content);
    messages.push_back(std::move(m));
  }

  const std::string prompt = tmpl->format(messages, add_generation_prompt);
  require(prompt.size() <= 64 + 2 * size + 64 * messages.size(), "the prompt stays proportional to its input");
  if (!all_valid) return;
  require(detail::valid_utf8(prompt), "a prompt of valid UTF-8 messages is valid UTF-8");
  const std::vector<int32_t> ids = tokenizer.encode(prompt, tokenizer.add_bos(), true);
  for (int32_t id : ids) require(id >= 0 && size_t(id) < tokenizer.vocab_size(), "token ids lie inside the vocabulary");
}

}  // namespace vkgraph::fuzz
