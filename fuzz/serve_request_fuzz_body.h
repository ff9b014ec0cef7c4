#pragma once
// The server's request target body: an OpenAI request body through its parser (chat,
// completion or embeddings, chosen by the first byte), and a parsed chat through the
// chat-message handling the server does next (rendering with each template family,
// tokenizing with special tokens).
// Properties: the parser only ever throws ApiError, with a 4xx status and a message, naming a
// field whenever the body was a JSON object; what it accepts holds valid UTF-8 text, at most 4
// non-empty stop sequences and a positive max_tokens; a rendered chat is valid UTF-8 that
// encodes into in-range ids.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cli/serve/api_error.h"
#include "cli/serve/chat_prompt.h"
#include "cli/serve/openai_schema.h"
#include "fuzz/fuzz_check.h"
#include "models/chat/chat_template.h"
#include "models/tokenizer/tokenizer.h"
#include "models/tokenizer/unicode.h"

namespace vkgraph::fuzz {

namespace serve_detail {

inline bool valid_utf8(std::string_view s) { return unicode::utf8_first_invalid(s) == std::string_view::npos; }

inline void check_generation(const serve::GenerationFields& g) {
  require(!g.max_tokens || *g.max_tokens > 0, "an accepted max_tokens is positive");
  require(g.stop.size() <= 4, "at most 4 stop sequences are accepted");
  for (const auto& s : g.stop)
    require(!s.empty() && serve_detail::valid_utf8(s), "accepted stop sequences are non-empty UTF-8");
  require(g.temperature >= 0 && g.temperature <= 2, "an accepted temperature is in [0, 2]");
  require(g.top_p > 0 && g.top_p <= 1, "an accepted top_p is in (0, 1]");
  require(!g.include_usage || g.stream, "include_usage only with stream");
}

}  // namespace serve_detail

inline void serve_request_fuzz_one(const Tokenizer& tokenizer, const uint8_t* data, size_t size) {
  if (size == 0) return;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 3) {
      case 0: {
        const serve::ChatRequest r = serve::parse_chat_request(body);
        require(!r.messages.empty(), "an accepted chat has messages");
        for (const auto& m : r.messages) {
          require(m.role == "system" || m.role == "user" || m.role == "assistant", "roles are normalized");
          require(serve_detail::valid_utf8(m.content), "accepted content is UTF-8");
        }
        serve_detail::check_generation(r.gen);
        for (const auto family :
             {chat::TemplateFamily::ChatML, chat::TemplateFamily::Llama3, chat::TemplateFamily::Llama2,
              chat::TemplateFamily::Mistral, chat::TemplateFamily::Zephyr}) {
          const chat::ChatTemplate tmpl(family);
          require(serve_detail::valid_utf8(serve::render_chat(tmpl, r.messages)), "a rendered chat is UTF-8");
          for (int32_t id : serve::chat_prompt_tokens(tokenizer, tmpl, r.messages)) {
            require(id >= 0 && size_t(id) < tokenizer.vocab_size(), "prompt ids are in the vocabulary");
          }
        }
        break;
      }
      case 1: {
        const serve::CompletionRequest r = serve::parse_completion_request(body);
        require(r.prompt.is_tokens || serve_detail::valid_utf8(r.prompt.text), "an accepted prompt is UTF-8");
        for (int32_t id : r.prompt.tokens) require(id >= 0, "accepted token ids are not negative");
        serve_detail::check_generation(r.gen);
        break;
      }
      default: {
        const serve::EmbeddingRequest r = serve::parse_embedding_request(body);
        require(!r.inputs.empty() && r.inputs.size() <= serve::max_embedding_inputs, "1 to 2048 inputs");
        break;
      }
    }
  } catch (const serve::ApiError& e) {
    require(e.status >= 400 && e.status < 500, "request errors are 4xx");
    require(!e.message.empty(), "an error has a message");
    require(!e.param.empty() || !e.code.empty(), "an error names its field or its kind");
  }
}

}  // namespace vkgraph::fuzz
