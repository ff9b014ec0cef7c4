#pragma once
// OpenAI request bodies, parsed and validated: every field the server honours is checked for
// type and range, fields it cannot honour (n > 1, tools, logprobs, penalties it lacks) are
// refused rather than ignored, and each error names its field (ApiError::param). Unknown fields
// are ignored, as OpenAI's clients send fields this server has no use for.
//
// Pure functions of the body text (no model, no engine), so they are fuzzed on their own
// (fuzz/fuzz_serve_request.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/chat/chat_template.h"

namespace vkgraph::serve {

// One entry of llama-server's `lora` field: the adapter loaded at start-up with index `id`
// (`--lora`, in order) at `scale`.
struct LoraChoice {
  int64_t id = 0;
  float scale = 0.0f;
};

// Sampling and stopping, shared by chat and text completions.
struct GenerationFields {
  std::optional<int64_t> max_tokens;  // max_tokens or max_completion_tokens; absent: up to the context
  float temperature = 1.0f;           // OpenAI's defaults: plain sampling from the model's distribution
  float top_p = 1.0f;
  int32_t top_k = 0;            // extension (llama.cpp's name): 0 off
  float min_p = 0.0f;           // extension: 0 off
  float repeat_penalty = 1.0f;  // extension: 1 off
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;  // at most 4, none empty; matched on the text, never emitted
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool ignore_eos = false;     // extension: generate exactly max_tokens
  // extension (llama-server's): the LoRA adapters this request applies, adapters not listed at
  // scale 0; absent: the start-up scales. Ids are checked against the loaded adapters later.
  std::optional<std::vector<LoraChoice>> lora;
  // extension (llama-server's `speculative.n_max` / `speculative.n_min`): drafted tokens verified
  // per step at most (0: no speculation for this request) and the shortest draft worth it;
  // absent: the server's --draft-max / --draft-min.
  std::optional<int32_t> draft_max;
  std::optional<int32_t> draft_min;
};

struct ChatRequest {
  std::string model;  // "" when absent
  std::vector<chat::Message> messages;
  GenerationFields gen;
};

// A prompt or embedding input: text, or token ids given directly.
struct TextOrTokens {
  std::string text;
  std::vector<int32_t> tokens;
  bool is_tokens = false;
};

struct CompletionRequest {
  std::string model;
  TextOrTokens prompt;
  GenerationFields gen;
};

struct EmbeddingRequest {
  std::string model;
  std::vector<TextOrTokens> inputs;  // one vector each, in order
  bool base64 = false;               // encoding_format "base64": little-endian float32, base64
};

// Each throws ApiError (400) naming the field at fault; the body must be a JSON object of
// valid UTF-8.
ChatRequest parse_chat_request(std::string_view body);
CompletionRequest parse_completion_request(std::string_view body);
EmbeddingRequest parse_embedding_request(std::string_view body);

// Most inputs one embeddings request may carry (OpenAI's limit).
inline constexpr size_t max_embedding_inputs = 2048;

}  // namespace vkgraph::serve
