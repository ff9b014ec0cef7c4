// The chat template families, rendered as llama.cpp's built-in templates render them (its
// llm_chat_apply_template), and recognized by the markers their Jinja sources contain.

#include "models/chat/chat_families.h"

namespace vkgraph::chat {

namespace {

constexpr TemplateFamily kFamilies[] = {TemplateFamily::ChatML,  TemplateFamily::Llama3, TemplateFamily::Llama2,
                                        TemplateFamily::Mistral, TemplateFamily::Zephyr, TemplateFamily::Gemma,
                                        TemplateFamily::Phi3};

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

// Gemma has no system role: the system text (trimmed) leads the next user turn; the assistant
// is "model"; messages trimmed.
std::string format_gemma(std::span<const Message> messages, bool add_generation_prompt) {
  std::string out, system;
  for (const Message& m : messages) {
    if (m.role == "system") {
      system += trim(m.content);
      continue;
    }
    const std::string role = m.role == "assistant" ? "model" : m.role;
    out += "<start_of_turn>" + role + "\n";
    if (!system.empty() && role != "model") {
      out += system + "\n\n";
      system.clear();
    }
    out += trim(m.content) + "<end_of_turn>\n";
  }
  if (add_generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

std::string format_phi3(std::span<const Message> messages, bool add_generation_prompt) {
  std::string out;
  for (const Message& m : messages) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
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
    case TemplateFamily::Gemma:
      return "gemma";
    case TemplateFamily::Phi3:
      return "phi3";
  }
  return "chatml";
}

std::optional<TemplateFamily> family_from_name(std::string_view name) {
  for (TemplateFamily f : kFamilies) {
    if (family_name(f) == name) return f;
  }
  return std::nullopt;
}

std::string family_names() {
  std::string out;
  for (TemplateFamily f : kFamilies) out += (out.empty() ? "" : ", ") + std::string(family_name(f));
  return out;
}

std::optional<TemplateFamily> detect_family(std::string_view text) {
  if (contains(text, "<|im_start|>")) return TemplateFamily::ChatML;
  if (contains(text, "<|start_header_id|>") && contains(text, "<|end_header_id|>")) return TemplateFamily::Llama3;
  if (contains(text, "<start_of_turn>")) return TemplateFamily::Gemma;
  if (contains(text, "[INST]")) {
    // Llama 2 wraps the system prompt in <<SYS>>; Mistral's templates have no such tag.
    return contains(text, "<<SYS>>") ? TemplateFamily::Llama2 : TemplateFamily::Mistral;
  }
  // Phi-3 shares Zephyr's <|user|> but ends turns with <|end|>.
  if (contains(text, "<|assistant|>") && contains(text, "<|end|>")) return TemplateFamily::Phi3;
  if (contains(text, "<|user|>") && contains(text, "<|assistant|>")) return TemplateFamily::Zephyr;
  return std::nullopt;
}

std::string format_family(TemplateFamily family, std::span<const Message> messages, bool add_generation_prompt) {
  switch (family) {
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
    case TemplateFamily::Gemma:
      return format_gemma(messages, add_generation_prompt);
    case TemplateFamily::Phi3:
      return format_phi3(messages, add_generation_prompt);
  }
  return {};
}

}  // namespace vkgraph::chat
