// `vkgraph run`: generate a completion of a prompt, non-interactively.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/generation.h"
#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "models/bundled/default_model.h"
#include "models/logits_dump.h"
#include "models/model.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::cli {
namespace {

struct RunOptions {
  std::string model;
  std::string prompt;
  bool prompt_given = false;
  int64_t n_predict = 128;
  int64_t n_ctx = 0;
  models::SamplerParams sampling;
  int64_t seed = -1;
  std::string backend = "vulkan";
  std::string device;
  std::string dump_logits;
  bool verbose = false;
};

int run(const RunOptions& o) {
  if (o.verbose) log::set_level(log::Level::info);
  std::string prompt = o.prompt;
  if (!o.prompt_given) {  // no -p: the prompt is standard input
    prompt.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  const std::string path = o.model.empty() ? models::default_model_path() : o.model;
  std::unique_ptr<Backend> backend = create_backend(o.backend, o.device);
  auto model = models::Model::load(path, *backend);
  const Tokenizer& tokenizer = model->tokenizer();
  const std::vector<int32_t> tokens = tokenizer.encode(prompt, tokenizer.add_bos(), true);
  VKGRAPH_CHECK(!tokens.empty(), "the prompt is empty and the model adds no BOS token: nothing to continue");

  models::SessionOptions session_options;
  session_options.n_ctx = o.n_ctx;
  models::Session session(*model, *backend, session_options);
  VKGRAPH_CHECK(int64_t(tokens.size()) <= session.n_ctx(),
                "the prompt is {} tokens long but the context holds {} (raise -c)", tokens.size(), session.n_ctx());

  if (!o.dump_logits.empty()) {
    const std::vector<float> all = session.eval(tokens, true);
    models::write_logits_json(o.dump_logits, tokens, all, size_t(model->hparams().n_vocab));
    session.reset();
  }

  models::SamplerParams sampling = o.sampling;
  sampling.seed = o.seed >= 0 ? uint64_t(o.seed) : std::random_device{}();
  models::Sampler sampler(sampling);

  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  const GenerationStats stats = generate(session, tokens, o.n_predict, sampler, [](const std::string& text) {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
  });
  std::fputs("\n", stdout);
  if (o.verbose) {
    log::info("seed {}", sampling.seed);
    log::info("prompt: {} tokens in {:.3f} s ({:.1f} t/s); generation: {} tokens in {:.3f} s ({:.1f} t/s)",
              stats.prompt_tokens, stats.prompt_seconds, double(stats.prompt_tokens) / stats.prompt_seconds,
              stats.generated_tokens, stats.generation_seconds,
              stats.generated_tokens > 0 ? double(stats.generated_tokens) / stats.generation_seconds : 0.0);
    log::info("device memory: weights {:.2f} MiB, KV cache {:.2f} MiB, step buffers {:.2f} MiB ({} on {})",
              double(model->weight_bytes()) / (1 << 20), double(session.kv_bytes()) / (1 << 20),
              double(session.executable_bytes()) / (1 << 20), backend->name(), backend->device_name());
  }
  return 0;
}

const CommandRegistration registration{
    "run", "Generate a completion of a prompt", [](CLI::App& app) {
      auto o = std::make_shared<RunOptions>();
      app.add_option("-m,--model", o->model, "GGUF model file (default: the bundled stories260K)");
      app.add_option("-p,--prompt", o->prompt, "prompt text (default: read standard input)")
          ->each([o](const std::string&) { o->prompt_given = true; });
      app.add_option("-n,--n-predict", o->n_predict, "tokens to generate")->capture_default_str()->check(CLI::NonNegativeNumber);
      app.add_option("-c,--ctx-size", o->n_ctx, "context size in tokens (0: the model's, at most 4096)")->check(CLI::NonNegativeNumber);
      app.add_option("--temp", o->sampling.temperature, "temperature; 0 is greedy and reproducible")->capture_default_str();
      app.add_option("--top-k", o->sampling.top_k, "keep the k most likely tokens (0: off)")->capture_default_str();
      app.add_option("--top-p", o->sampling.top_p, "nucleus sampling threshold (1: off)")->capture_default_str();
      app.add_option("--min-p", o->sampling.min_p, "drop tokens below min-p times the best (0: off)")->capture_default_str();
      app.add_option("--repeat-penalty", o->sampling.repeat_penalty, "penalty for recent tokens (1: off)")->capture_default_str();
      app.add_option("--seed", o->seed, "sampling seed (default: random)");
      app.add_option("--backend", o->backend, "vulkan or cpu")->capture_default_str();
      app.add_option("--device", o->device, "device index or name substring (default: $VKGRAPH_DEVICE or the first GPU)");
      app.add_option("--dump-logits", o->dump_logits, "write the prompt's ids and logits at every position as JSON");
      app.add_flag("-v,--verbose", o->verbose, "report timings and memory on stderr");
      return [o] { return run(*o); };
    }};

}  // namespace
}  // namespace vkgraph::cli
