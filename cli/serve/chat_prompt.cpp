#include "cli/serve/chat_prompt.h"

#include "models/conversation.h"

namespace vkgraph::serve {

std::string render_chat(const chat::ChatTemplate& tmpl, std::span<const chat::Message> messages) {
  return tmpl.format(messages, /*add_generation_prompt=*/true);
}

std::vector<int32_t> chat_prompt_tokens(const Tokenizer& tokenizer, const chat::ChatTemplate& tmpl,
                                        std::span<const chat::Message> messages) {
  // The template's own markers (<|im_start|>, [INST], ...) are special tokens; a template that
  // writes BOS itself (Llama 3) gets no second one.
  return models::encode_chat_prompt(tokenizer, render_chat(tmpl, messages));
}

std::vector<int32_t> text_prompt_tokens(const Tokenizer& tokenizer, const std::string& text) {
  return tokenizer.encode(text, tokenizer.add_bos(), /*parse_special=*/true);
}

}  // namespace vkgraph::serve
