#include "models/chat/jinja/error.h"

namespace vkgraph::jinja {

Error::Error(ErrorKind kind, std::string message, int line, int column)
    : vkgraph::Error(line > 0 ? "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message
                              : message),
      kind_(kind),
      message_(std::move(message)),
      line_(line),
      column_(column) {}

void runtime_error(std::string message) { throw Error(ErrorKind::Runtime, std::move(message)); }
void limit_error(std::string message) { throw Error(ErrorKind::Limit, std::move(message)); }

}  // namespace vkgraph::jinja
