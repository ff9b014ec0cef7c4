#pragma once
// Chat messages to prompt tokens: rendered with the model's chat template, then tokenized with
// the model's BOS and its special tokens. The one place the server calls the template engine.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "models/chat/chat_template.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::serve {

// The prompt text, ending with the opening of the assistant's turn.
std::string render_chat(const chat::ChatTemplate& tmpl, std::span<const chat::Message> messages);

// The prompt's token ids (BOS first when the vocabulary uses one).
std::vector<int32_t> chat_prompt_tokens(const Tokenizer& tokenizer, const chat::ChatTemplate& tmpl,
                                        std::span<const chat::Message> messages);

// A completion prompt's token ids: the text with BOS, special tokens taken literally as text
// would be in a document.
std::vector<int32_t> text_prompt_tokens(const Tokenizer& tokenizer, const std::string& text);

}  // namespace vkgraph::serve
