#include "cli/serve/openai_schema.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "cli/serve/api_error.h"

namespace vkgraph::serve {
namespace {

using nlohmann::json;

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::number_float:
      return "a number";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    default:
      return "a value";
  }
}

json parse_object(std::string_view body) {
  json j;
  try {
    j = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // nlohmann's lexer checks UTF-8; say so plainly, since "syntax error" would mislead.
    if (std::string_view(e.what()).find("UTF-8") != std::string_view::npos) {
      throw invalid_body("the request body is not valid UTF-8", "invalid_utf8");
    }
    throw invalid_body(fmt::format("the request body is not valid JSON: {}", e.what()));
  } catch (const json::exception& e) {  // a number too large for a double (1E999)
    throw invalid_body(fmt::format("the request body holds a value out of range: {}", e.what()), "invalid_value");
  }
  if (!j.is_object()) throw invalid_body(fmt::format("the request body must be a JSON object, not {}", type_name(j)));
  return j;
}

// Reads one object's fields; null counts as absent, as in OpenAI's API.
class Fields {
 public:
  Fields(const json& object, std::string prefix = {}) : object_(object), prefix_(std::move(prefix)) {}

  const json* find(const char* name) const {
    const auto it = object_.find(name);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string param(const char* name) const { return prefix_ + name; }

  ApiError wrong_type(const char* name, const json& v, const char* expected) const {
    return invalid_field(param(name), fmt::format("'{}' must be {}, not {}", param(name), expected, type_name(v)),
                         "invalid_type");
  }

  std::optional<double> number(const char* name, double lo, double hi) const {
    const json* v = find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) throw wrong_type(name, *v, "a number");
    const double x = v->get<double>();
    if (!(x >= lo && x <= hi)) {
      throw invalid_field(param(name), fmt::format("'{}' must be between {} and {} (got {})", param(name), lo, hi, x),
                          "invalid_value");
    }
    return x;
  }
  std::optional<int64_t> integer(const char* name, int64_t lo, int64_t hi) const {
    const json* v = find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer()) throw wrong_type(name, *v, "an integer");
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
      throw invalid_field(param(name), fmt::format("'{}' is out of range", param(name)), "invalid_value");
    }
    const int64_t x = v->get<int64_t>();
    if (x < lo || x > hi) {
      throw invalid_field(param(name), fmt::format("'{}' must be between {} and {} (got {})", param(name), lo, hi, x),
                          "invalid_value");
    }
    return x;
  }
  std::optional<bool> boolean(const char* name) const {
    const json* v = find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) throw wrong_type(name, *v, "a boolean");
    return v->get<bool>();
  }
  std::optional<std::string> string(const char* name) const {
    const json* v = find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) throw wrong_type(name, *v, "a string");
    return v->get<std::string>();
  }
  // A field this server cannot honour: refused unless absent or at its no-op value.
  void unsupported_unless(const char* name, const json& noop, const char* why) const {
    const json* v = find(name);
    if (v != nullptr && *v != noop) {
      throw invalid_field(param(name), fmt::format("'{}' is not supported: {}", param(name), why),
                          "unsupported_parameter");
    }
  }

 private:
  const json& object_;
  std::string prefix_;
};

std::vector<int32_t> token_list(const json& array, const std::string& param) {
  std::vector<int32_t> tokens;
  tokens.reserve(array.size());
  for (size_t i = 0; i < array.size(); ++i) {
    const json& t = array[i];
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      throw invalid_field(param, fmt::format("'{}' item {} must be a token id (a non-negative integer)", param, i),
                          "invalid_type");
    }
    tokens.push_back(int32_t(t.get<int64_t>()));
  }
  return tokens;
}

// A string, a token list, or a list holding exactly one of these.
TextOrTokens text_or_tokens(const json& v, const std::string& param, bool allow_list_of_one) {
  TextOrTokens out;
  if (v.is_string()) {
    out.text = v.get<std::string>();
    return out;
  }
  if (v.is_array()) {
    if (!v.empty() && v[0].is_number()) {
      out.tokens = token_list(v, param);
      out.is_tokens = true;
      return out;
    }
    if (allow_list_of_one && v.size() == 1 && (v[0].is_string() || v[0].is_array())) {
      return text_or_tokens(v[0], param, false);
    }
    if (allow_list_of_one && v.size() > 1) {
      throw invalid_field(param,
                          fmt::format("'{}' holds {} prompts; this server completes one per request", param, v.size()),
                          "unsupported_value");
    }
    if (v.empty()) throw invalid_field(param, fmt::format("'{}' is empty", param), "invalid_value");
  }
  throw invalid_field(param, fmt::format("'{}' must be a string or a list of token ids, not {}", param, type_name(v)),
                      "invalid_type");
}

// llama-server's `lora`: a list of {"id": integer, "scale": number}.
std::vector<LoraChoice> lora_choices(const Fields& f, const json& list) {
  if (!list.is_array()) throw f.wrong_type("lora", list, "a list of {\"id\", \"scale\"} objects");
  std::vector<LoraChoice> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string param = fmt::format("lora[{}]", i);
    if (!list[i].is_object()) {
      throw invalid_field(param, fmt::format("'{}' must be an object, not {}", param, type_name(list[i])),
                          "invalid_type");
    }
    const Fields entry(list[i], param + ".");
    const auto id = entry.integer("id", 0, std::numeric_limits<int32_t>::max());
    if (!id)
      throw invalid_field(entry.param("id"), fmt::format("'{}.id' is missing", param), "missing_required_parameter");
    // A scale is a multiplier of the adapter's effect; llama.cpp takes any finite value.
    const auto scale = entry.number("scale", -1e6, 1e6);
    if (!scale) {
      throw invalid_field(entry.param("scale"), fmt::format("'{}.scale' is missing", param),
                          "missing_required_parameter");
    }
    out.push_back({*id, float(*scale)});
  }
  return out;
}

GenerationFields generation_fields(const Fields& f, int64_t max_tokens_limit) {
  GenerationFields g;
  // OpenAI renamed max_tokens to max_completion_tokens for chat; both are accepted.
  g.max_tokens = f.integer("max_completion_tokens", 1, max_tokens_limit);
  if (!g.max_tokens) g.max_tokens = f.integer("max_tokens", 1, max_tokens_limit);
  if (auto t = f.number("temperature", 0, 2)) g.temperature = float(*t);
  if (auto p = f.number("top_p", 0, 1)) g.top_p = float(*p);
  if (g.top_p == 0.0f) {  // only the most likely token survives: greedy
    g.temperature = 0.0f;
    g.top_p = 1.0f;
  }
  if (auto k = f.integer("top_k", 0, 1 << 20)) g.top_k = int32_t(*k);
  if (auto m = f.number("min_p", 0, 1)) g.min_p = float(*m);
  if (auto r = f.number("repeat_penalty", 0.01, 100)) g.repeat_penalty = float(*r);
  if (auto s = f.integer("seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max())) {
    g.seed = uint64_t(*s);
  }
  if (const json* stop = f.find("stop")) {
    if (stop->is_string()) {
      g.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      if (stop->size() > 4) throw invalid_field("stop", "'stop' holds at most 4 sequences", "invalid_value");
      for (const json& s : *stop) {
        if (!s.is_string()) throw invalid_field("stop", "'stop' must hold strings", "invalid_type");
        g.stop.push_back(s.get<std::string>());
      }
    } else {
      throw f.wrong_type("stop", *stop, "a string or a list of strings");
    }
    for (const std::string& s : g.stop) {
      if (s.empty()) throw invalid_field("stop", "'stop' sequences must not be empty", "invalid_value");
    }
  }
  g.stream = f.boolean("stream").value_or(false);
  if (const json* options = f.find("stream_options")) {
    if (!options->is_object()) throw f.wrong_type("stream_options", *options, "an object");
    if (!g.stream) {
      throw invalid_field("stream_options", "'stream_options' is only allowed with 'stream': true", "invalid_value");
    }
    g.include_usage = Fields(*options, "stream_options.").boolean("include_usage").value_or(false);
  }
  g.ignore_eos = f.boolean("ignore_eos").value_or(false);
  if (const json* lora = f.find("lora")) g.lora = lora_choices(f, *lora);
  if (auto n = f.integer("speculative.n_max", 0, 256)) g.draft_max = int32_t(*n);
  if (auto n = f.integer("speculative.n_min", 0, 256)) g.draft_min = int32_t(*n);
  if (const auto n = f.integer("n", 1, 128); n && *n != 1) {
    throw invalid_field("n", fmt::format("'n' is {}; this server generates one choice per request (n = 1)", *n),
                        "invalid_value");
  }
  f.unsupported_unless("frequency_penalty", 0, "use repeat_penalty");
  f.unsupported_unless("presence_penalty", 0, "use repeat_penalty");
  f.unsupported_unless("logit_bias", json::object(), "logit biases are not implemented");
  f.unsupported_unless("logprobs", false, "log probabilities are not returned");
  f.unsupported_unless("top_logprobs", 0, "log probabilities are not returned");
  return g;
}

// Room for any context a model has; the real limit (the context) is checked after tokenizing.
constexpr int64_t max_tokens_limit = int64_t(1) << 24;

std::string model_field(const Fields& f) { return f.string("model").value_or(""); }

std::string message_content(const json& content, size_t index) {
  const std::string param = fmt::format("messages[{}].content", index);
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {  // content parts: only text ones
    std::string text;
    for (size_t i = 0; i < content.size(); ++i) {
      const json& part = content[i];
      const std::string part_param = fmt::format("{}[{}]", param, i);
      if (!part.is_object())
        throw invalid_field(part_param, fmt::format("'{}' must be an object", part_param), "invalid_type");
      const Fields pf(part, part_param + ".");
      const std::string type = pf.string("type").value_or("");
      if (type != "text") {
        throw invalid_field(part_param + ".type",
                            fmt::format("'{}.type' is '{}'; this server reads text parts only", part_param, type),
                            "unsupported_value");
      }
      const auto t = pf.string("text");
      if (!t)
        throw invalid_field(part_param + ".text", fmt::format("'{}.text' is missing", part_param),
                            "missing_required_parameter");
      text += *t;
    }
    return text;
  }
  throw invalid_field(param,
                      fmt::format("'{}' must be a string or a list of text parts, not {}", param, type_name(content)),
                      "invalid_type");
}

}  // namespace

ChatRequest parse_chat_request(std::string_view body) {
  const json j = parse_object(body);
  const Fields f(j);
  ChatRequest r;
  r.model = model_field(f);
  const json* messages = f.find("messages");
  if (messages == nullptr) throw invalid_field("messages", "'messages' is required", "missing_required_parameter");
  if (!messages->is_array()) throw f.wrong_type("messages", *messages, "a list of messages");
  if (messages->empty()) throw invalid_field("messages", "'messages' is empty", "invalid_value");
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const std::string param = fmt::format("messages[{}]", i);
    if (!m.is_object())
      throw invalid_field(param, fmt::format("'{}' must be an object, not {}", param, type_name(m)), "invalid_type");
    const Fields mf(m, param + ".");
    const auto role = mf.string("role");
    if (!role)
      throw invalid_field(param + ".role", fmt::format("'{}.role' is required", param), "missing_required_parameter");
    chat::Message message;
    // OpenAI's newer "developer" role is the system prompt under another name.
    if (*role == "system" || *role == "developer") {
      message.role = "system";
    } else if (*role == "user" || *role == "assistant") {
      message.role = *role;
    } else {
      throw invalid_field(param + ".role",
                          fmt::format("'{}.role' is '{}'; expected system, developer, user or assistant", param, *role),
                          "invalid_value");
    }
    const json* content = mf.find("content");
    if (content == nullptr) {
      throw invalid_field(param + ".content", fmt::format("'{}.content' is required", param),
                          "missing_required_parameter");
    }
    message.content = message_content(*content, i);
    mf.unsupported_unless("tool_calls", json::array(), "tools are not supported");
    r.messages.push_back(std::move(message));
  }
  f.unsupported_unless("tools", json::array(), "tools are not supported");
  f.unsupported_unless("tool_choice", "none", "tools are not supported");
  f.unsupported_unless("response_format", json{{"type", "text"}}, "only plain text responses are supported");
  r.gen = generation_fields(f, max_tokens_limit);
  return r;
}

CompletionRequest parse_completion_request(std::string_view body) {
  const json j = parse_object(body);
  const Fields f(j);
  CompletionRequest r;
  r.model = model_field(f);
  const json* prompt = f.find("prompt");
  if (prompt == nullptr) throw invalid_field("prompt", "'prompt' is required", "missing_required_parameter");
  r.prompt = text_or_tokens(*prompt, "prompt", true);
  f.unsupported_unless("echo", false, "the prompt is not echoed");
  f.unsupported_unless("best_of", 1, "one completion is generated per request");
  f.unsupported_unless("suffix", "", "insertion (suffix) is not supported");
  r.gen = generation_fields(f, max_tokens_limit);
  return r;
}

EmbeddingRequest parse_embedding_request(std::string_view body) {
  const json j = parse_object(body);
  const Fields f(j);
  EmbeddingRequest r;
  r.model = model_field(f);
  const json* input = f.find("input");
  if (input == nullptr) throw invalid_field("input", "'input' is required", "missing_required_parameter");
  if (input->is_string() || (input->is_array() && !input->empty() && (*input)[0].is_number())) {
    r.inputs.push_back(text_or_tokens(*input, "input", false));
  } else if (input->is_array()) {
    if (input->empty()) throw invalid_field("input", "'input' is empty", "invalid_value");
    if (input->size() > max_embedding_inputs) {
      throw invalid_field("input",
                          fmt::format("'input' holds {} items; at most {}", input->size(), max_embedding_inputs),
                          "invalid_value");
    }
    for (size_t i = 0; i < input->size(); ++i) {
      r.inputs.push_back(text_or_tokens((*input)[i], fmt::format("input[{}]", i), false));
    }
  } else {
    throw f.wrong_type("input", *input, "a string, a list of strings or token lists");
  }
  const std::string format = f.string("encoding_format").value_or("float");
  if (format != "float" && format != "base64") {
    throw invalid_field("encoding_format", fmt::format("'encoding_format' is '{}'; expected float or base64", format),
                        "invalid_value");
  }
  r.base64 = format == "base64";
  f.unsupported_unless("dimensions", json(nullptr), "the model's embedding size is fixed");
  return r;
}

}  // namespace vkgraph::serve
