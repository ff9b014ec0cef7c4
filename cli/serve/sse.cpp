#include "cli/serve/sse.h"

namespace vkgraph::serve {

// dump() escapes every control character, so the JSON holds no newline that would end the
// event early.
std::string sse_event(const nlohmann::json& chunk) {
  return "data: " + chunk.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

std::string sse_done() { return "data: [DONE]\n\n"; }

std::string sse_comment(const std::string& text) { return ": " + text + "\n\n"; }

}  // namespace vkgraph::serve
