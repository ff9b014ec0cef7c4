#pragma once
// OpenAI response bodies: chat completions and their stream chunks, text completions and
// theirs, the model list, embeddings, usage.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vkgraph::serve {

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // prompt_tokens_details.cached_tokens
};

// What every response of one request shares.
struct ResponseHeader {
  std::string id;  // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;
  std::string model;
};

nlohmann::json usage_json(const Usage& usage);

// finish_reason: "stop", "length" (null in the chunks before the last).
nlohmann::json chat_completion(const ResponseHeader& h, const std::string& text, const std::string& finish_reason,
                               const Usage& usage);
// A streamed piece: `role` in the first chunk, `content` in the next ones, finish_reason in the
// last (empty: null).
nlohmann::json chat_chunk(const ResponseHeader& h, const std::string* content, bool with_role,
                          const std::string& finish_reason);
// The usage chunk of stream_options.include_usage: no choices.
nlohmann::json chat_usage_chunk(const ResponseHeader& h, const Usage& usage);

nlohmann::json text_completion(const ResponseHeader& h, const std::string& text, const std::string& finish_reason,
                               const Usage& usage);
nlohmann::json text_chunk(const ResponseHeader& h, const std::string& text, const std::string& finish_reason);
nlohmann::json text_usage_chunk(const ResponseHeader& h, const Usage& usage);

nlohmann::json model_list(const std::string& model_id, int64_t created);

// `vectors` in input order; base64 encodes each as little-endian float32 bytes.
nlohmann::json embeddings(const std::string& model, const std::vector<std::vector<float>>& vectors, bool base64,
                          int64_t prompt_tokens);
std::string base64_encode(std::span<const uint8_t> bytes);

// A response id: prefix plus 24 random hex digits.
std::string new_response_id(const char* prefix);

}  // namespace vkgraph::serve
