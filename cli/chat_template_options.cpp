#include "cli/chat_template_options.h"

#include "engine/core/error.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::cli {

void add_chat_template_options(CLI::App& app, ChatTemplateOptions& o) {
  app.add_option("--chat-template", o.chat_template,
                 "a built-in format (" + chat::family_names() +
                     ") or a file with a Jinja template or a tokenizer_config.json (default: the model's own)");
  app.add_option("--chat-template-kwargs", o.kwargs,
                 "extra template variables as a JSON object, e.g. '{\"enable_thinking\": false}'");
}

chat::ChatTemplate resolve_chat_template(const ChatTemplateOptions& o, const models::Model& model) {
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  if (!o.kwargs.empty()) {
    try {
      variables = nlohmann::ordered_json::parse(o.kwargs);
    } catch (const nlohmann::json::exception& e) {
      fail("--chat-template-kwargs is not JSON: {}", e.what());
    }
    VKGRAPH_CHECK(variables.is_object(), "--chat-template-kwargs must be a JSON object, got '{}'", o.kwargs);
  }
  chat::ChatTemplate tmpl = chat::ChatTemplate::for_model(o.chat_template, model.chat_template(),
                                                          chat::TemplateTokens::from_tokenizer(model.tokenizer()));
  tmpl.set_variables(std::move(variables));
  return tmpl;
}

}  // namespace vkgraph::cli
