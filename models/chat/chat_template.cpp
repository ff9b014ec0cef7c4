// The chat template families, rendered as llama.cpp's built-in templates render them (its
// llm_chat_apply_template), and recognized by the markers their Jinja sources contain.

#include "models/chat/chat_template.h"

#include "engine/core/error.h"
#include "models/gguf/gguf_reader.h"

namespace vkgraph::chat {

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string format_chatml(std::span<const Message> messages, bool add_generation_prompt) {
  std::string out;
  for (const Message& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::string format_llama3(std::span<const Message> messages, bool add_generation_prompt) {
  std::string out;
  for (const Message& m : messages) {
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
  }
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// Llama 2 chat: the system prompt inside the first [INST] in <<SYS>> tags; every later turn opens
// with "<s>[INST] " (the first BOS comes from the tokenizer); messages trimmed.
std::string format_llama2(std::span<const Message> messages) {
  std::string out = "[INST] ";
  bool inside_turn = true;
  for (const Message& m : messages) {
    if (!inside_turn) {
      out += "<s>[INST] ";
      inside_turn = true;
    }
    const std::string content = trim(m.content);
    if (m.role == "system") {
      out += "<<SYS>>\n" + content + "\n<</SYS>>\n\n";
    } else if (m.role == "user") {
      out += content + " [/INST]";
    } else {
      out += content + "</s>";
      inside_turn = false;
    }
  }
  return out;
}

// Mistral Instruct (v0.2/v0.3): no system role of its own, so the system text leads the first
// user turn; assistant replies trimmed and closed with </s>.
std::string format_mistral(std::span<const Message> messages) {
  std::string out;
  bool inside_turn = false;
  for (const Message& m : messages) {
    if (!inside_turn) {
      out += "[INST] ";
      inside_turn = true;
    }
    if (m.role == "system") {
      out += m.content + "\n\n";
    } else if (m.role == "user") {
      out += m.content + "[/INST]";
    } else {
      out += " " + trim(m.content) + "</s>";
      inside_turn = false;
    }
  }
  return out;
}

std::string format_zephyr(std::span<const Message> messages, bool add_generation_prompt) {
  std::string out;
  for (const Message& m : messages) out += "<|" + m.role + "|>\n" + m.content + "<|endoftext|>\n";
  if (add_generation_prompt) out += "<|assistant|>\n";
  return out;
}

}  // namespace

std::string_view family_name(TemplateFamily family) {
  switch (family) {
    case TemplateFamily::ChatML:
      return "chatml";
    case TemplateFamily::Llama3:
      return "llama3";
    case TemplateFamily::Llama2:
      return "llama2";
    case TemplateFamily::Mistral:
      return "mistral";
    case TemplateFamily::Zephyr:
      return "zephyr";
  }
  return "chatml";
}

ChatTemplate ChatTemplate::detect(std::string_view text) {
  if (contains(text, "<|im_start|>")) return ChatTemplate(TemplateFamily::ChatML);
  if (contains(text, "<|start_header_id|>") && contains(text, "<|end_header_id|>")) {
    return ChatTemplate(TemplateFamily::Llama3);
  }
  if (contains(text, "[INST]")) {
    // Llama 2 wraps the system prompt in <<SYS>>; Mistral's templates have no such tag.
    return ChatTemplate(contains(text, "<<SYS>>") ? TemplateFamily::Llama2 : TemplateFamily::Mistral);
  }
  // Phi-3 shares <|user|> but ends turns with <|end|>.
  if (contains(text, "<|user|>") && contains(text, "<|assistant|>") && !contains(text, "<|end|>")) {
    return ChatTemplate(TemplateFamily::Zephyr);
  }
  return ChatTemplate(TemplateFamily::ChatML, false);
}

ChatTemplate ChatTemplate::from_gguf(const gguf::GgufFile& file) {
  const std::optional<std::string> text = file.find_string("tokenizer.chat_template");
  if (!text) return ChatTemplate(TemplateFamily::ChatML, false);
  return detect(*text);
}

ChatTemplate ChatTemplate::from_name(std::string_view name) {
  for (TemplateFamily f : {TemplateFamily::ChatML, TemplateFamily::Llama3, TemplateFamily::Llama2,
                           TemplateFamily::Mistral, TemplateFamily::Zephyr}) {
    if (family_name(f) == name) return ChatTemplate(f);
  }
  fail("chat template '{}' is unknown (expected chatml, llama3, llama2, mistral or zephyr)", name);
}

std::string ChatTemplate::format(std::span<const Message> messages, bool add_generation_prompt) const {
  switch (family_) {
    case TemplateFamily::ChatML:
      return format_chatml(messages, add_generation_prompt);
    case TemplateFamily::Llama3:
      return format_llama3(messages, add_generation_prompt);
    case TemplateFamily::Llama2:
      return format_llama2(messages);
    case TemplateFamily::Mistral:
      return format_mistral(messages);
    case TemplateFamily::Zephyr:
      return format_zephyr(messages, add_generation_prompt);
  }
  return {};
}

}  // namespace vkgraph::chat
