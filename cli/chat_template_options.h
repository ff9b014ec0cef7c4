#pragma once
// The chat-template options of every command that formats conversations (`chat`, `run --chat`,
// `serve`): --chat-template NAME|FILE and --chat-template-kwargs JSON, and the template they
// resolve to for a loaded model.

#include <CLI/CLI.hpp>

#include <string>

#include "models/chat/chat_template.h"
#include "models/model.h"

namespace vkgraph::cli {

struct ChatTemplateOptions {
  std::string chat_template;  // "": the model's own
  std::string kwargs;         // a JSON object of extra template variables, "" for none
};

void add_chat_template_options(CLI::App& app, ChatTemplateOptions& options);

// The model's own template unless --chat-template names another, with --chat-template-kwargs as
// variables of every rendering.
chat::ChatTemplate resolve_chat_template(const ChatTemplateOptions& options, const models::Model& model);

}  // namespace vkgraph::cli
