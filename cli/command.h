#pragma once
// Each `vkgraph <command>` lives in its own cmd_*.cpp file and registers itself here with a
// static CommandRegistration, so adding a command touches no other file.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace vkgraph::cli {

// Declares the command's options on `app` and returns what runs it (its exit code).
using CommandSetup = std::function<std::function<int()>(CLI::App& app)>;

struct CommandInfo {
  std::string name;
  std::string description;
  CommandSetup setup;
};

std::vector<CommandInfo>& command_registry();

struct CommandRegistration {
  CommandRegistration(std::string name, std::string description, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

}  // namespace vkgraph::cli
