// `vkgraph pull ORG/REPO[:QUANT]`: bring a model from the Hugging Face Hub into the shared cache
// (or check that the cached one is main's newest) and print its local path, for -m or scripts.

#include <cstdio>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/download_progress.h"
#include "cli/hf_option.h"
#include "engine/core/error.h"

namespace vkgraph::cli {
namespace {

struct PullArgs {
  std::string name;     // positional
  std::string hf_name;  // or -hf, as on the other commands
};

int pull(const PullArgs& a) {
  const std::string& name = a.name.empty() ? a.hf_name : a.name;
  VKGRAPH_CHECK(!name.empty(), "pull: name a model: vkgraph pull ORG/REPO[:QUANT] (e.g. ggml-org/gemma-3-1b-it-GGUF)");
  VKGRAPH_CHECK(a.name.empty() || a.hf_name.empty(), "pull: give the model once, as an argument or with -hf");
  PullOptions options;
  options.refresh = true;
  const hub::ResolvedModel model = pull_hf_model(name, options);
  const std::string parts = model.files.size() > 1 ? fmt::format(" and {} more parts", model.files.size() - 1) : "";
  std::fprintf(stderr, "%s: %s%s (%s, commit %s): %s\n", model.repo.c_str(), model.files.front().c_str(), parts.c_str(),
               format_bytes(model.size_bytes).c_str(), model.commit.substr(0, 7).c_str(),
               model.downloaded_bytes > 0 ? fmt::format("downloaded {}", format_bytes(model.downloaded_bytes)).c_str()
                                          : "already in the cache");
  std::printf("%s\n", model.path.c_str());
  return 0;
}

const CommandRegistration registration{
    "pull", "Download a model from the Hugging Face Hub into the shared cache and print its path", [](CLI::App& app) {
      auto a = std::make_shared<PullArgs>();
      app.add_option("model", a->name, "ORG/REPO[:QUANT] or ORG/REPO/FILE.gguf");
      add_hf_option(app, a->hf_name);
      return [a] { return pull(*a); };
    }};

}  // namespace
}  // namespace vkgraph::cli
