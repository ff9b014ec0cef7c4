#pragma once
// Runs a built program (the `vkgraph` CLI, a build tool) with arguments and captures its exit
// code, stdout and stderr.

#include <sys/wait.h>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "temp_dir.h"

namespace vkgraph::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `args` is appended to the program's path as shell words: quote them as needed.
inline CommandResult run_program(const std::string& program, const std::string& args,
                                 const std::string& stdin_text = "") {
  TempDir dir;
  const std::string in = dir.file("stdin"), out = dir.file("stdout"), err = dir.file("stderr");
  std::ofstream(in) << stdin_text;
  const std::string command =
      std::string("'") + program + "' " + args + " <'" + in + "' >'" + out + "' 2>'" + err + "'";
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const auto slurp = [](const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  result.out = slurp(out);
  result.err = slurp(err);
  return result;
}

inline CommandResult run_vkgraph(const std::string& args, const std::string& stdin_text = "") {
  return run_program(VKGRAPH_CLI_PATH, args, stdin_text);
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace vkgraph::testing
