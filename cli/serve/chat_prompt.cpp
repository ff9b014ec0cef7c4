#include "cli/serve/chat_prompt.h"

namespace vkgraph::serve {

std::string render_chat(const chat::ChatTemplate& tmpl, std::span<const chat::Message> messages) {
  return tmpl.format(messages, /*add_generation_prompt=*/true);
}

std::vector<int32_t> chat_prompt_tokens(const Tokenizer& tokenizer, const chat::ChatTemplate& tmpl,
                                        std::span<const chat::Message> messages) {
  // The template's own markers (<|im_start|>, [INST], ...) are special tokens: parse them.
  return tokenizer.encode(render_chat(tmpl, messages), tokenizer.add_bos(), /*parse_special=*/true);
}

std::vector<int32_t> text_prompt_tokens(const Tokenizer& tokenizer, const std::string& text) {
  return tokenizer.encode(text, tokenizer.add_bos(), /*parse_special=*/true);
}

}  // namespace vkgraph::serve
