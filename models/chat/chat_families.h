#pragma once
// The built-in chat formats: the families in use (ChatML, Llama 3, Llama 2, Mistral, Zephyr, Gemma,
// Phi-3) written as llama.cpp's built-in rendering writes them, and recognized from the distinctive
// markers of a template's source. They serve when a model has no template, when its template
// cannot be rendered (the fallback), and when one is asked for by name (`--chat-template llama3`).

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vkgraph::chat {

struct Message {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class TemplateFamily { ChatML, Llama3, Llama2, Mistral, Zephyr, Gemma, Phi3 };

std::string_view family_name(TemplateFamily family);  // "chatml", "llama3", ...
std::optional<TemplateFamily> family_from_name(std::string_view name);
std::string family_names();  // "chatml, llama3, ..." for messages

// The family whose markers the template text contains; nullopt when none does.
std::optional<TemplateFamily> detect_family(std::string_view template_text);

// The prompt text of the family. With `add_generation_prompt` it ends with the opening of an
// assistant turn (Llama 2 and Mistral end a user turn with [/INST] either way). No BOS in front:
// encode with add_bos = tokenizer.add_bos() and parse_special = true (Llama 2's later turns carry
// "<s>").
std::string format_family(TemplateFamily family, std::span<const Message> messages, bool add_generation_prompt);

}  // namespace vkgraph::chat
