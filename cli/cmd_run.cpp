// `vkgraph run`: generate a completion of a prompt, non-interactively.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include <fmt/format.h>

#include "cli/chat_template_options.h"
#include "cli/command.h"
#include "cli/draft_options.h"
#include "cli/model_options.h"
#include "cli/sampling_options.h"
#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "models/conversation.h"
#include "models/generation.h"
#include "models/logits_dump.h"
#include "models/model.h"
#include "models/quantize.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::cli {
namespace {

struct RunOptions {
  ModelOptions model;
  std::string prompt;
  bool prompt_given = false;
  int64_t n_predict = 128;
  SamplingOptions sampling;
  DraftOptions draft;
  std::string dump_logits;
  bool verbose = false;
  bool ignore_eos = false;
  bool chat = false;  // the prompt is a user message, formatted by the chat template
  std::string system;
  ChatTemplateOptions chat_template;
};

int run(const RunOptions& o) {
  if (o.verbose) log::set_level(log::Level::info);
  // Any chat option asks for a chat prompt.
  const bool chat =
      o.chat || !o.system.empty() || !o.chat_template.chat_template.empty() || !o.chat_template.kwargs.empty();
  std::string prompt = o.prompt;
  if (!o.prompt_given) {  // no -p: the prompt is standard input
    prompt.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  const std::string path = model_path(o.model);
  std::unique_ptr<Backend> backend = create_model_backend(o.model);
  const models::LoadOptions load = load_options(o.model);
  const size_t storage_before = backend->storage_bytes();
  auto model = models::Model::load(path, *backend, load);
  // What the backend actually holds for the weights, to compare with the packed size.
  const size_t weight_storage = backend->storage_bytes() - storage_before;
  const Tokenizer& tokenizer = model->tokenizer();
  if (chat) {  // the prompt becomes the user's turn of a conversation, as the template writes it
    std::vector<chat::Message> messages;
    if (!o.system.empty()) messages.push_back({"system", o.system});
    messages.push_back({"user", prompt});
    prompt = resolve_chat_template(o.chat_template, *model).format(messages, true);
  }
  const std::vector<int32_t> tokens =
      chat ? models::encode_chat_prompt(tokenizer, prompt) : tokenizer.encode(prompt, tokenizer.add_bos(), true);
  VKGRAPH_CHECK(!tokens.empty(), "the prompt is empty and the model adds no BOS token: nothing to continue");

  const models::SessionOptions session_opts = session_options(o.model, *model);
  models::Session session(*model, *backend, with_draft_slots(session_opts, o.draft));
  session.set_adapters(load_adapters(o.model, *model, *backend));
  const DraftSetup draft = make_drafter(o.draft, *model, *backend, session_opts);
  VKGRAPH_CHECK(session.fits(int64_t(tokens.size())),
                "the prompt is {} tokens long but the context holds {} (raise -c, or use the ring: --sinks)",
                tokens.size(), session.n_ctx());

  const size_t n_vocab = size_t(model->hparams().n_vocab);
  const auto prompt_start = std::chrono::steady_clock::now();
  std::vector<float> logits;
  if (!o.dump_logits.empty()) {  // every position's logits; the last row continues the text
    const std::vector<float> all = session.eval(tokens, true);
    models::write_logits_json(o.dump_logits, tokens, all, n_vocab);
    logits.assign(all.end() - std::ptrdiff_t(n_vocab), all.end());
  } else {
    logits = session.eval(tokens);
  }
  const double prompt_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - prompt_start).count();
  session.warm_up();  // the decode step is prepared (and logged) before any text is printed

  const models::SamplerParams sampling = resolve_sampling(o.sampling);
  models::Sampler sampler(sampling);
  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  std::vector<int32_t> history = tokens;
  models::GenerateOptions options;
  options.max_tokens = o.n_predict;
  options.ignore_eos = o.ignore_eos;
  options.drafter = draft.drafter.get();
  options.speculative = o.draft.params;
  const models::GenerateResult result =
      models::generate(session, std::move(logits), sampler, history, options, [](const std::string& text) {
        std::fputs(text.c_str(), stdout);
        std::fflush(stdout);
      });
  std::fputs("\n", stdout);
  std::fflush(stdout);
  if (o.verbose) {
    const auto n_gen = result.tokens.size();
    log::info("seed {}", sampling.seed);
    // The first generated token is drawn from the prompt's logits; the rate counts the decode
    // steps that followed it, which is what generation speed means.
    log::info(
        "prompt: {} tokens in {:.3f} s ({:.1f} t/s); generation: {} tokens, {} decode steps in {:.3f} s ({:.1f} t/s)",
        tokens.size(), prompt_seconds, double(tokens.size()) / prompt_seconds, n_gen, result.evaluated, result.seconds,
        result.evaluated > 0 ? double(result.evaluated) / result.seconds : 0.0);
    log::info("weights: {} bytes packed ({}), {} bytes in backend storage ({} held in all, KV cache included)",
              model->weight_bytes(), model->weight_type(), weight_storage, backend->storage_bytes());
    if (draft.drafter) {
      const models::SpeculativeStats& sp = result.speculative;
      log::info(
          "speculative: {}; {} target steps, {} of {} drafted tokens accepted ({:.1f}%), {:.2f} tokens per step; "
          "drafting {:.3f} s, target {:.3f} s",
          draft.description, sp.target_steps, sp.accepted, sp.drafted, 100.0 * sp.acceptance_rate(),
          sp.tokens_per_step(), sp.draft_seconds, sp.target_seconds);
    }
    if (session.ring()) {
      log::info("KV ring: {} slots, {} sinks; {} tokens evaluated, {} evicted", session.n_ctx(), session.sinks(),
                session.n_past(), session.evicted());
    }
    log::info("device memory: weights {:.2f} MiB, KV cache {:.2f} MiB, step buffers {:.2f} MiB ({} on {})",
              double(model->weight_bytes()) / (1 << 20), double(session.kv_bytes()) / (1 << 20),
              double(session.executable_bytes()) / (1 << 20), backend->name(), backend->device_name());
  }
  return 0;
}

const CommandRegistration registration{
    "run", "Generate a completion of a prompt", [](CLI::App& app) {
      auto o = std::make_shared<RunOptions>();
      app.add_option("-p,--prompt", o->prompt, "prompt text (default: read standard input)")
          ->each([o](const std::string&) { o->prompt_given = true; });
      app.add_option("-n,--n-predict", o->n_predict, "tokens to generate")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber);
      add_model_options(app, o->model);
      add_sampling_options(app, o->sampling);
      add_draft_options(app, o->draft);
      app.add_option("--dump-logits", o->dump_logits, "write the prompt's ids and logits at every position as JSON");
      app.add_flag("--ignore-eos", o->ignore_eos, "keep generating past end-of-text tokens (until -n)");
      app.add_flag("--chat", o->chat,
                   "format the prompt as a user message with the chat template (printed as the model sees it)");
      app.add_option("--system", o->system, "a system message before the prompt (implies --chat)");
      add_chat_template_options(app, o->chat_template);
      app.add_flag("-v,--verbose", o->verbose, "report timings and memory on stderr");
      return [o] { return run(*o); };
    }};

}  // namespace
}  // namespace vkgraph::cli
