#pragma once
// Chat templates: turn a conversation into the prompt text a model was trained on. A model's own
// `tokenizer.chat_template` (Jinja) is rendered as Hugging Face renders it (models/chat/jinja), so
// a new model needs no code. A built-in family (chat_families.h) serves when the template cannot
// be parsed or rendered, with a warning saying so, and when one is asked for by name.
//
// What a template sees: `messages` (a list of {"role", "content"}), `add_generation_prompt`,
// `bos_token` and `eos_token` (the texts of the vocabulary's tokens, undefined when it has none),
// `tools` and `documents` (none), `enable_thinking` when set, and any extra variables given.

#include <atomic>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "models/chat/chat_families.h"

namespace vkgraph::gguf {
class GgufFile;
}

namespace vkgraph {
class Tokenizer;
}

namespace vkgraph::jinja {
class Template;
}

namespace vkgraph::chat {

// The special tokens a template may write (bos_token, eos_token); empty when absent.
struct TemplateTokens {
  std::string bos, eos;

  static TemplateTokens from_tokenizer(const Tokenizer& tokenizer);
  static TemplateTokens from_gguf(const gguf::GgufFile& file);
};

struct FormatOptions {
  bool add_generation_prompt = true;
  // Qwen3's switch (and that of other reasoning templates): passed only when set.
  std::optional<bool> enable_thinking;
  // More variables for the template (a JSON object), e.g. {"tools": [...]}; they override the
  // defaults above.
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  // The time strftime_now() formats; now when unset.
  std::optional<std::time_t> now;
};

class ChatTemplate {
 public:
  // The file's own template (with its tokens), a built-in family when the file has none.
  static ChatTemplate from_gguf(const gguf::GgufFile& file);
  // A Jinja template. `origin` names it in messages ("the model's tokenizer.chat_template", a
  // path). A template that does not parse warns once and renders as the family its text
  // suggests (ChatML when none).
  static ChatTemplate from_jinja(std::string source, TemplateTokens tokens, std::string origin);
  // A built-in family: "chatml", "llama3", ...; anything else throws naming the choices.
  static ChatTemplate from_name(std::string_view name);
  // What `--chat-template` (and the C API's template name) accepts: a family name, or a file
  // holding a Jinja template or a Hugging Face tokenizer_config.json (its "chat_template").
  static ChatTemplate from_option(const std::string& name_or_file, TemplateTokens tokens);
  // The model's template when it has one (`source` non-empty), else ChatML; with `option`
  // non-empty, from_option(option) instead. The one place run, chat and the C API choose.
  static ChatTemplate for_model(const std::string& option, const std::string& source, TemplateTokens tokens);
  // The family a template's text suggests; ChatML (recognized() false) when none matches.
  static ChatTemplate detect(std::string_view template_text);

  explicit ChatTemplate(TemplateFamily family, bool recognized = true);

  bool is_jinja() const { return jinja_ != nullptr; }
  // The built-in family: the template itself, or the fallback of a Jinja template.
  TemplateFamily family() const { return family_; }
  std::string_view name() const { return family_name(family_); }
  bool recognized() const { return recognized_; }  // false when ChatML was a guess
  // How the prompt is made, for people: "the model's tokenizer.chat_template (Jinja)",
  // "llama3 (built in)", "chatml (built in, no template recognized)".
  std::string describe() const;

  // The prompt text. A Jinja template that fails to render (a template error, raise_exception,
  // a limit) warns once per template and gives the family's text instead. The text may start
  // with the BOS token's text when the template writes it (Llama 3, Gemma): encode with
  // parse_special and no second BOS (models::Conversation does).
  std::string format(std::span<const Message> messages, const FormatOptions& options) const;
  std::string format(std::span<const Message> messages, bool add_generation_prompt) const;

  // The Jinja rendering alone: throws the template's error instead of falling back.
  std::string render_jinja(std::span<const Message> messages, const FormatOptions& options) const;

  // Variables (a JSON object) every rendering passes, under those of FormatOptions: what
  // --chat-template-kwargs sets for a whole chat or server.
  void set_variables(nlohmann::ordered_json variables) { variables_ = std::move(variables); }

 private:
  void warn_once(const std::string& message) const;

  TemplateFamily family_;
  bool recognized_;
  std::shared_ptr<const jinja::Template> jinja_;
  TemplateTokens tokens_;
  nlohmann::ordered_json variables_ = nlohmann::ordered_json::object();
  std::string origin_;
  std::shared_ptr<std::atomic<bool>> warned_ = std::make_shared<std::atomic<bool>>(false);
};

// Convenience: ChatTemplate(...).format(...).
inline std::string format_chat(const ChatTemplate& tmpl, std::span<const Message> messages,
                               bool add_generation_prompt) {
  return tmpl.format(messages, add_generation_prompt);
}

}  // namespace vkgraph::chat
