// A model's Jinja chat template with the built-in families as the fallback (chat_template.h).

#include "models/chat/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/core/error.h"
#include "engine/core/log.h"
#include "models/chat/jinja/json.h"
#include "models/chat/jinja/template.h"
#include "models/gguf/gguf_reader.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::chat {

namespace {

std::string token_text(const gguf::GgufFile& file, const std::vector<std::string>& tokens, const char* key) {
  const std::optional<uint32_t> id = file.find_u32(key);
  return id && *id < tokens.size() ? tokens[*id] : std::string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  VKGRAPH_CHECK(in.good(), "cannot read the chat template file {}", path);
  std::ostringstream text;
  text << in.rdbuf();
  VKGRAPH_CHECK(!in.bad(), "reading the chat template file {} failed", path);
  return text.str();
}

// A Hugging Face tokenizer_config.json's template: "chat_template" as a string, or a list of
// {"name", "template"} where "default" is the one for plain chat.
std::optional<std::string> template_from_config(const std::string& text, const std::string& path) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // not JSON: a Jinja file
  }
  if (!config.is_object()) return std::nullopt;
  const auto it = config.find("chat_template");
  VKGRAPH_CHECK(it != config.end(), "{}: a JSON file without a \"chat_template\" field", path);
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    std::optional<std::string> first;
    for (const auto& entry : *it) {
      if (!entry.is_object() || !entry.contains("template") || !entry["template"].is_string()) continue;
      if (entry.value("name", "") == "default") return entry["template"].get<std::string>();
      if (!first) first = entry["template"].get<std::string>();
    }
    if (first) return first;
  }
  fail("{}: \"chat_template\" is neither a string nor a list of named templates", path);
}

}  // namespace

TemplateTokens TemplateTokens::from_tokenizer(const Tokenizer& tokenizer) {
  TemplateTokens t;
  if (tokenizer.bos() >= 0) t.bos = tokenizer.token_text(tokenizer.bos());
  if (tokenizer.eos() >= 0) t.eos = tokenizer.token_text(tokenizer.eos());
  return t;
}

TemplateTokens TemplateTokens::from_gguf(const gguf::GgufFile& file) {
  TemplateTokens t;
  if (!file.has("tokenizer.ggml.tokens")) return t;
  const std::vector<std::string>& tokens = file.get_string_array("tokenizer.ggml.tokens");
  t.bos = token_text(file, tokens, "tokenizer.ggml.bos_token_id");
  t.eos = token_text(file, tokens, "tokenizer.ggml.eos_token_id");
  return t;
}

ChatTemplate::ChatTemplate(TemplateFamily family, bool recognized) : family_(family), recognized_(recognized) {}

ChatTemplate ChatTemplate::detect(std::string_view text) {
  const std::optional<TemplateFamily> family = detect_family(text);
  return ChatTemplate(family.value_or(TemplateFamily::ChatML), family.has_value());
}

ChatTemplate ChatTemplate::from_jinja(std::string source, TemplateTokens tokens, std::string origin) {
  ChatTemplate t = detect(source);
  t.tokens_ = std::move(tokens);
  t.origin_ = std::move(origin);
  try {
    t.jinja_ = std::make_shared<const jinja::Template>(jinja::Template::parse(source));
  } catch (const jinja::Error& e) {
    t.warn_once(fmt::format("chat template: {} could not be parsed ({}); using the built-in {} format instead",
                            t.origin_, e.what(), t.name()));
  }
  return t;
}

ChatTemplate ChatTemplate::from_gguf(const gguf::GgufFile& file) {
  const std::optional<std::string> text = file.find_string("tokenizer.chat_template");
  if (!text || text->empty()) return ChatTemplate(TemplateFamily::ChatML, false);
  return from_jinja(*text, TemplateTokens::from_gguf(file), "the model's tokenizer.chat_template");
}

ChatTemplate ChatTemplate::from_name(std::string_view name) {
  const std::optional<TemplateFamily> family = family_from_name(name);
  if (!family) fail("chat template '{}' is unknown (expected {})", name, family_names());
  return ChatTemplate(*family);
}

ChatTemplate ChatTemplate::from_option(const std::string& name_or_file, TemplateTokens tokens) {
  if (family_from_name(name_or_file)) return from_name(name_or_file);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(name_or_file, ec)) {
    fail("chat template '{}' is neither a built-in format ({}) nor a readable file", name_or_file, family_names());
  }
  const std::uintmax_t size = std::filesystem::file_size(name_or_file, ec);
  // A tokenizer_config.json carries the whole vocabulary's settings besides its template; 64 MiB
  // is far above any of them and stops an accidental multi-gigabyte file.
  VKGRAPH_CHECK(!ec && size <= (std::uintmax_t(64) << 20), "chat template file {} is larger than 64 MiB", name_or_file);
  const std::string text = read_file(name_or_file);
  const std::string source = template_from_config(text, name_or_file).value_or(text);
  // A template the user names is used as given: its syntax errors are errors, not a fallback.
  ChatTemplate t = detect(source);
  t.tokens_ = std::move(tokens);
  t.origin_ = name_or_file;
  try {
    t.jinja_ = std::make_shared<const jinja::Template>(jinja::Template::parse(source));
  } catch (const jinja::Error& e) {
    fail("chat template {}: {}", name_or_file, e.what());
  }
  return t;
}

ChatTemplate ChatTemplate::for_model(const std::string& option, const std::string& source, TemplateTokens tokens) {
  if (!option.empty()) return from_option(option, std::move(tokens));
  if (!source.empty()) return from_jinja(source, std::move(tokens), "the model's tokenizer.chat_template");
  return ChatTemplate(TemplateFamily::ChatML, false);
}

std::string ChatTemplate::describe() const {
  if (jinja_) return origin_ + " (Jinja)";
  if (!origin_.empty()) return fmt::format("{} (built in: {} did not parse)", name(), origin_);
  if (!recognized_) return fmt::format("{} (built in; no template recognized)", name());
  return fmt::format("{} (built in)", name());
}

void ChatTemplate::warn_once(const std::string& message) const {
  if (!warned_->exchange(true)) log::warn("{}", message);
}

std::string ChatTemplate::render_jinja(std::span<const Message> messages, const FormatOptions& options) const {
  VKGRAPH_CHECK(jinja_ != nullptr, "chat template: {} is not a Jinja template", describe());
  jinja::ValueList list;
  list.reserve(messages.size());
  for (const Message& m : messages) {
    jinja::Dict d;
    d.entries.emplace_back(jinja::Value("role"), jinja::Value(m.role));
    d.entries.emplace_back(jinja::Value("content"), jinja::Value(m.content));
    list.push_back(jinja::Value::dict(std::move(d)));
  }
  // The variables Hugging Face's apply_chat_template passes (special tokens only when the
  // vocabulary has them), then the caller's.
  jinja::Dict vars;
  vars.set(jinja::Value("messages"), jinja::Value::list(std::move(list)));
  vars.set(jinja::Value("tools"), jinja::Value::none());
  vars.set(jinja::Value("documents"), jinja::Value::none());
  vars.set(jinja::Value("add_generation_prompt"), jinja::Value(options.add_generation_prompt));
  if (!tokens_.bos.empty()) vars.set(jinja::Value("bos_token"), jinja::Value(tokens_.bos));
  if (!tokens_.eos.empty()) vars.set(jinja::Value("eos_token"), jinja::Value(tokens_.eos));
  if (options.enable_thinking) vars.set(jinja::Value("enable_thinking"), jinja::Value(*options.enable_thinking));
  for (const nlohmann::ordered_json* extra : {&variables_, &options.variables}) {
    if (!extra->is_object()) continue;
    for (const auto& [key, value] : extra->items()) vars.set(jinja::Value(key), jinja::from_json(value));
  }
  return jinja_->render(vars, options.now.value_or(std::time(nullptr)));
}

std::string ChatTemplate::format(std::span<const Message> messages, const FormatOptions& options) const {
  if (jinja_) {
    try {
      return render_jinja(messages, options);
    } catch (const jinja::Error& e) {
      warn_once(fmt::format("chat template: {} could not be rendered ({}); using the built-in {} format instead",
                            origin_, e.what(), name()));
    }
  }
  return format_family(family_, messages, options.add_generation_prompt);
}

std::string ChatTemplate::format(std::span<const Message> messages, bool add_generation_prompt) const {
  FormatOptions options;
  options.add_generation_prompt = add_generation_prompt;
  return format(messages, options);
}

}  // namespace vkgraph::chat
