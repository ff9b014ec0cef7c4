#pragma once
// `-hf ORG/REPO[:QUANT][/FILE.gguf]`: a model from the Hugging Face Hub, for every command that
// loads one (run, chat, serve through ModelOptions; bench; pull), and what resolves it:
// the shared Hugging Face cache first, else a download with a progress bar on a terminal.
// Ctrl-C during a download stops it and keeps the partial file, which the next run resumes.
// The CLI11 option is --hf (also --hf-repo); main.cpp rewrites llama.cpp's spelling -hf to it,
// since CLI11 takes only one letter after a single dash.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "models/hub/resolve.h"

namespace vkgraph::cli {

// Adds --hf (one model); returns the option so a command can mark it as excluding -m.
CLI::Option* add_hf_option(CLI::App& app, std::string& name);
// Adds --hf that may be given several times or as a comma list (bench).
CLI::Option* add_hf_option(CLI::App& app, std::vector<std::string>& names);

struct PullOptions {
  bool refresh = false;  // ask the Hub for the newest commit even when the cache has the file
};

// Resolves a -hf name through the environment's Hub settings (hub_config.h): from the cache or
// downloaded, with progress on a terminal and Ctrl-C handled. Throws a HubError when it cannot.
hub::ResolvedModel pull_hf_model(const std::string& name, const PullOptions& options = {});

// The local path of the model a -hf name means (pull_hf_model(name).path).
std::string hf_model_path(const std::string& name);

}  // namespace vkgraph::cli
