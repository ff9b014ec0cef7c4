// vkgraph: the command-line program. Commands register themselves (see command.h); this file
// parses the command line, runs the chosen command and turns errors into messages and exit codes.

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "engine/core/version.h"

namespace vkgraph::cli {

std::vector<CommandInfo>& command_registry() {
  static std::vector<CommandInfo> registry;
  return registry;
}

namespace {

// llama.cpp spells its Hugging Face option -hf (and -hfr); CLI11 reads "-hf" as -h -f, so
// those words become --hf before parsing. Words after "--" are left alone.
std::vector<std::string> with_long_spellings(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == "-hf" || args[i] == "-hfr") args[i] = "--hf";
  }
  return args;
}

}  // namespace
}  // namespace vkgraph::cli

int main(int argc, char** argv) {
  using namespace vkgraph::cli;
  CLI::App app{"vkgraph: run language models on any GPU through Vulkan"};
  app.set_version_flag("--version", std::string("vkgraph ") + vkgraph::version() + " (" + vkgraph::git_commit() + ")");
  app.require_subcommand(1);
  // Valid before or after the command: the switch for a driver whose cooperative matrices are
  // broken (llama.cpp users know the same switch). Read when a device is probed.
  bool no_coopmat = false;
  app.add_flag("--no-coopmat", no_coopmat, "never use cooperative-matrix kernels (same as VKGRAPH_DISABLE_COOPMAT=1)");
  app.fallthrough();

  std::function<int()> chosen;
  for (CommandInfo& command : command_registry()) {
    CLI::App* sub = app.add_subcommand(command.name, command.description);
    auto run = std::make_shared<std::function<int()>>(command.setup(*sub));
    sub->callback([run, &chosen] { chosen = *run; });
  }

  std::vector<std::string> args = with_long_spellings(argc, argv);
  std::vector<char*> arg_pointers;
  for (std::string& a : args) arg_pointers.push_back(a.data());
  try {
    app.parse(int(arg_pointers.size()), arg_pointers.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (no_coopmat) setenv("VKGRAPH_DISABLE_COOPMAT", "1", 1);
  // With validation on (VKGRAPH_VALIDATION=1, as in every test), any validation message makes
  // the run fail, so tests that drive the program catch them as the library tests do.
  const auto checked = [](int code) {
    if (const vkgraph::BackendDiagnostics d = vkgraph::backend_diagnostics(); d.messages > 0) {
      std::fprintf(stderr, "vkgraph: error: %llu Vulkan validation message(s); the last: %s\n",
                   static_cast<unsigned long long>(d.messages), d.last.c_str());
      return code != 0 ? code : 4;
    }
    return code;
  };
  try {
    return checked(chosen ? chosen() : 0);
  } catch (const vkgraph::Error& e) {
    std::fprintf(stderr, "vkgraph: error: %s\n", e.what());
    return checked(1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vkgraph: internal error: %s\n", e.what());
    return 3;
  }
}
