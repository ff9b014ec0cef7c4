#include "cli/hf_option.h"

#include <signal.h>

#include <atomic>
#include <cstdio>

#include "cli/download_progress.h"
#include "models/hub/hub_config.h"
#include "models/hub/model_name.h"

namespace vkgraph::cli {
namespace {

constexpr const char* kHelp =
    "model from the Hugging Face Hub: ORG/REPO[:QUANT] (default quant Q4_K_M, else Q8_0, else the first GGUF) or "
    "ORG/REPO/FILE.gguf; kept in the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else "
    "~/.cache/huggingface/hub) and used from there next time";

std::atomic<bool> interrupted{false};

void on_interrupt(int) { interrupted.store(true); }

// Ctrl-C stops the download at the next progress call (at least once a second) instead of
// killing the program mid-write; the previous handler is back once the download ends.
class InterruptGuard {
 public:
  InterruptGuard() {
    interrupted.store(false);
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_);
  }
  ~InterruptGuard() { sigaction(SIGINT, &previous_, nullptr); }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction previous_ {};
};

}  // namespace

CLI::Option* add_hf_option(CLI::App& app, std::string& name) { return app.add_option("--hf,--hf-repo", name, kHelp); }

CLI::Option* add_hf_option(CLI::App& app, std::vector<std::string>& names) {
  return app.add_option("--hf,--hf-repo", names, std::string(kHelp) + "; several: a comma list")->delimiter(',');
}

hub::ResolvedModel pull_hf_model(const std::string& name, const PullOptions& options) {
  const hub::ModelName parsed = hub::parse_model_name(name);
  const hub::HubConfig config = hub::HubConfig::from_environment();
  DownloadProgressView view;
  const InterruptGuard guard;
  hub::ResolveOptions resolve;
  resolve.refresh = options.refresh;
  resolve.progress = [&view](const hub::DownloadProgress& p) {
    view.update(p);
    return true;
  };
  resolve.keep_going = [] { return !interrupted.load(); };
  hub::ResolvedModel model;
  try {
    model = hub::resolve_model(parsed, config, resolve);
  } catch (...) {
    view.finish();
    throw;
  }
  view.finish();
  if (config.offline) {
    std::fprintf(stderr, "offline (HF_HUB_OFFLINE): using %s from the cache\n", model.path.c_str());
  }
  return model;
}

std::string hf_model_path(const std::string& name) { return pull_hf_model(name).path; }

}  // namespace vkgraph::cli
