#pragma once
// Server-sent events as OpenAI streams them: one `data: <json>` event per chunk, a blank line
// after each, and `data: [DONE]` last.

#include <nlohmann/json.hpp>

#include <string>

namespace vkgraph::serve {

std::string sse_event(const nlohmann::json& chunk);
std::string sse_done();
// A comment line, ignored by clients: keeps a connection alive while a request waits.
std::string sse_comment(const std::string& text);

}  // namespace vkgraph::serve
