#include "cli/line_reader.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#if VKGRAPH_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

namespace vkgraph::cli {

LineReader::LineReader() : editing_(false) {
#if VKGRAPH_HAVE_LIBEDIT
  editing_ = isatty(STDIN_FILENO) != 0;
  if (editing_) using_history();
#endif
}

LineReader::~LineReader() = default;

std::optional<std::string> LineReader::read(const std::string& prompt) {
#if VKGRAPH_HAVE_LIBEDIT
  if (editing_) {
    char* line = readline(prompt.c_str());
    if (line == nullptr) return std::nullopt;
    std::string text(line);
    std::free(line);
    return text;
  }
#endif
  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  std::string text;
  if (!std::getline(std::cin, text)) return std::nullopt;
  return text;
}

void LineReader::remember(const std::string& line) {
#if VKGRAPH_HAVE_LIBEDIT
  if (editing_ && !line.empty()) add_history(line.c_str());
#else
  (void)line;
#endif
}

}  // namespace vkgraph::cli
