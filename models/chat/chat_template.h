#pragma once
// Chat templates: turn a conversation into the prompt text a model was trained on. The families
// in use (ChatML, Llama 3, Llama 2, Mistral, Zephyr) are recognized from the distinctive markers
// of a file's `tokenizer.chat_template`; an unknown template falls back to ChatML, and a family
// can be forced by name (`--chat-template`).

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vkgraph::gguf {
class GgufFile;
}

namespace vkgraph::chat {

struct Message {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class TemplateFamily { ChatML, Llama3, Llama2, Mistral, Zephyr };

std::string_view family_name(TemplateFamily family);  // "chatml", "llama3", ...

class ChatTemplate {
 public:
  // The family of the file's `tokenizer.chat_template`, ChatML when absent or unrecognized.
  static ChatTemplate from_gguf(const gguf::GgufFile& file);
  // Recognizes a template text; ChatML (with recognized() false) when nothing matches.
  static ChatTemplate detect(std::string_view template_text);
  // "chatml", "llama3", "llama2", "mistral", "zephyr"; anything else throws naming the choices.
  static ChatTemplate from_name(std::string_view name);

  explicit ChatTemplate(TemplateFamily family, bool recognized = true) : family_(family), recognized_(recognized) {}

  TemplateFamily family() const { return family_; }
  std::string_view name() const { return family_name(family_); }
  bool recognized() const { return recognized_; }  // false when ChatML was a fallback

  // The prompt text, as llama.cpp's built-in rendering of the family gives it. With
  // `add_generation_prompt`, it ends with the opening of an assistant turn (Llama 2 and Mistral
  // end a user turn with [/INST] either way). The text does not start with BOS: encode it with
  // add_bos = tokenizer.add_bos() and parse_special = true (Llama 2's later turns carry "<s>").
  std::string format(std::span<const Message> messages, bool add_generation_prompt) const;

 private:
  TemplateFamily family_;
  bool recognized_;
};

// Convenience: ChatTemplate(...).format(...).
inline std::string format_chat(const ChatTemplate& tmpl, std::span<const Message> messages,
                               bool add_generation_prompt) {
  return tmpl.format(messages, add_generation_prompt);
}

}  // namespace vkgraph::chat
