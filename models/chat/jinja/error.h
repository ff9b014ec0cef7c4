#pragma once
// Why a template could not be parsed or rendered, and where: the line and column (1-based) of the
// template text at fault, 0 when the failure has no place in the text (a limit of the whole run).

#include <string>

#include "engine/core/error.h"

namespace vkgraph::jinja {

enum class ErrorKind {
  Syntax,    // the text is not a template (or uses a tag, filter or test that does not exist)
  Runtime,   // a type error, an undefined value used, a division by zero...
  Raised,    // the template called raise_exception(message)
  Limit,     // a bound on work, output, nesting or size was reached
  Internal,  // anything else that went wrong inside the renderer: a defect, reported, never a crash
};

class Error : public vkgraph::Error {
 public:
  Error(ErrorKind kind, std::string message, int line = 0, int column = 0);

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }  // without the position
  int line() const { return line_; }
  int column() const { return column_; }
  bool has_position() const { return line_ > 0; }
  Error at(int line, int column) const { return Error(kind_, message_, line, column); }

 private:
  ErrorKind kind_;
  std::string message_;
  int line_, column_;
};

[[noreturn]] void runtime_error(std::string message);
[[noreturn]] void limit_error(std::string message);

}  // namespace vkgraph::jinja
