#include "cli/serve/responses.h"

#include <fmt/format.h>

#include <cstring>
#include <mutex>
#include <random>

namespace vkgraph::serve {
namespace {

using nlohmann::json;

json nullable(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json base(const ResponseHeader& h, const char* object) {
  return {{"id", h.id}, {"object", object}, {"created", h.created}, {"model", h.model}};
}

}  // namespace

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_prompt_tokens}}}};
}

json chat_completion(const ResponseHeader& h, const std::string& text, const std::string& finish_reason,
                     const Usage& usage) {
  json r = base(h, "chat.completion");
  r["choices"] = json::array({{{"index", 0},
                               {"message", {{"role", "assistant"}, {"content", text}}},
                               {"logprobs", nullptr},
                               {"finish_reason", nullable(finish_reason)}}});
  r["usage"] = usage_json(usage);
  return r;
}

json chat_chunk(const ResponseHeader& h, const std::string* content, bool with_role, const std::string& finish_reason) {
  json delta = json::object();
  if (with_role) delta["role"] = "assistant";
  if (content != nullptr) delta["content"] = *content;
  json r = base(h, "chat.completion.chunk");
  r["choices"] = json::array(
      {{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", nullable(finish_reason)}}});
  return r;
}

json chat_usage_chunk(const ResponseHeader& h, const Usage& usage) {
  json r = base(h, "chat.completion.chunk");
  r["choices"] = json::array();
  r["usage"] = usage_json(usage);
  return r;
}

json text_completion(const ResponseHeader& h, const std::string& text, const std::string& finish_reason,
                     const Usage& usage) {
  json r = base(h, "text_completion");
  r["choices"] =
      json::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", nullable(finish_reason)}}});
  r["usage"] = usage_json(usage);
  return r;
}

json text_chunk(const ResponseHeader& h, const std::string& text, const std::string& finish_reason) {
  json r = base(h, "text_completion");
  r["choices"] =
      json::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", nullable(finish_reason)}}});
  return r;
}

json text_usage_chunk(const ResponseHeader& h, const Usage& usage) {
  json r = base(h, "text_completion");
  r["choices"] = json::array();
  r["usage"] = usage_json(usage);
  return r;
}

json model_list(const std::string& model_id, int64_t created) {
  return {
      {"object", "list"},
      {"data", json::array({{{"id", model_id}, {"object", "model"}, {"created", created}, {"owned_by", "vkgraph"}}})}};
}

std::string base64_encode(std::span<const uint8_t> bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = uint32_t(bytes[i]) << 16 | uint32_t(bytes[i + 1]) << 8 | bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += alphabet[(v >> s) & 63];
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    const uint32_t v = uint32_t(bytes[i]) << 16 | (rest == 2 ? uint32_t(bytes[i + 1]) << 8 : 0);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

json embeddings(const std::string& model, const std::vector<std::vector<float>>& vectors, bool base64,
                int64_t prompt_tokens) {
  json data = json::array();
  for (size_t i = 0; i < vectors.size(); ++i) {
    json item = {{"object", "embedding"}, {"index", i}};
    if (base64) {
      // float32 little-endian, as OpenAI encodes them (every target of this build is little-endian).
      std::vector<uint8_t> bytes(vectors[i].size() * sizeof(float));
      std::memcpy(bytes.data(), vectors[i].data(), bytes.size());
      item["embedding"] = base64_encode(bytes);
    } else {
      item["embedding"] = vectors[i];
    }
    data.push_back(std::move(item));
  }
  return {{"object", "list"},
          {"data", std::move(data)},
          {"model", model},
          {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
}

std::string new_response_id(const char* prefix) {
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mutex);
  return fmt::format("{}-{:012x}{:012x}", prefix, rng() & 0xffffffffffffull, rng() & 0xffffffffffffull);
}

}  // namespace vkgraph::serve
