#pragma once
// Reads the chat's input lines: with line editing and history (libedit) when built with it and
// standard input is a terminal, plain lines otherwise.

#include <optional>
#include <string>

namespace vkgraph::cli {

class LineReader {
 public:
  LineReader();
  ~LineReader();
  // One line without its newline; nullopt at end of input (Ctrl-D).
  std::optional<std::string> read(const std::string& prompt);
  void remember(const std::string& line);  // adds to the history

 private:
  bool editing_;
};

}  // namespace vkgraph::cli
