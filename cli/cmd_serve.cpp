// `vkgraph serve`: an OpenAI-compatible HTTP server (cli/serve/, docs/serving.md).

#include <fmt/format.h>

#include <pthread.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/chat_template_options.h"
#include "cli/command.h"
#include "cli/draft_options.h"
#include "cli/model_options.h"
#include "cli/serve/http_server.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "models/embedding.h"
#include "models/model.h"
#include "models/serving/engine.h"

namespace vkgraph::cli {
namespace {

struct ServeOptions {
  ModelOptions model;
  serve::ServerOptions server;
  int64_t n_parallel = 4;
  int64_t max_queue = 64;
  ChatTemplateOptions chat_template;
  serving::EngineOptions engine;  // the batched engine's KV blocks and step budget
  std::string pooling;            // "" = the model's
  // The session engine is the default: on lavapipe it gave more aggregate tokens/s and a shorter
  // time to first token than the batched engine at 1, 8 and 32 streams (docs/performance.md,
  // scripts/bench-serve.sh). `--engine batched` gives continuous batching over the paged cache;
  // --draft (speculative decoding, which only the batched engine serves) makes it the default.
  std::string engine_kind;
  DraftOptions draft;
  bool verbose = false;
};

models::Pooling parse_pooling(const std::string& name) {
  for (models::Pooling p :
       {models::Pooling::none, models::Pooling::mean, models::Pooling::cls, models::Pooling::last}) {
    if (name == models::pooling_name(p)) return p;
  }
  fail("--pooling '{}' is not one of none, mean, cls, last", name);
}

serving::EngineKind parse_engine_kind(const std::string& name) {
  for (serving::EngineKind k : {serving::EngineKind::batched, serving::EngineKind::session}) {
    if (name == serving::engine_kind_name(k)) return k;
  }
  fail("--engine '{}' is not one of batched, session", name);
}

// SIGTERM and SIGINT are taken by a thread of their own (sigwait): the first drains the server
// (in-flight requests finish, then the process exits 0), a second one exits at once.
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

int serve_main(ServeOptions& o) {
  if (o.verbose) log::set_level(log::Level::info);
  // Before the signals are blocked: a -hf download stops on Ctrl-C (cli/hf_option.h), and it
  // leaves no thread behind.
  const std::string path = model_path(o.model);
  // Blocked before any thread starts, so every thread inherits the mask and only sigwait sees
  // the signals. A peer that closes its socket must not kill the process either.
  const sigset_t signals = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<Backend> backend = create_model_backend(o.model);
  std::fprintf(stderr, "serve: loading %s on %s (%s)\n", path.c_str(), backend->device_name().c_str(),
               backend->name().c_str());
  auto model = models::Model::load(path, *backend, load_options(o.model));

  serving::EngineOptions engine_options = o.engine;
  engine_options.n_parallel = o.n_parallel;
  engine_options.n_ctx = o.model.n_ctx;
  engine_options.max_queue = o.max_queue;
  // Unmerged --lora adapters: requests choose among them by index (their `lora` field).
  engine_options.adapters = load_adapters(o.model, *model, *backend);
  std::unique_ptr<models::Model> draft_model;  // outlives the engine
  if (drafting(o.draft)) {
    engine_options.speculative = o.draft.params;
    engine_options.ngram.min_match = o.draft.ngram_min;
    if (!o.draft.model.empty()) {
      draft_model = models::Model::load(o.draft.model, *backend);
      engine_options.draft_model = draft_model.get();
      engine_options.draft_p_min = o.draft.p_min;
    }
  }
  if (o.engine_kind.empty()) o.engine_kind = drafting(o.draft) ? "batched" : "session";
  engine_options.kind = parse_engine_kind(o.engine_kind);
  const auto engine_start = std::chrono::steady_clock::now();
  std::unique_ptr<serving::Engine> engine = serving::Engine::create(*model, *backend, engine_options);
  const double engine_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - engine_start).count();
  if (engine_options.kind == serving::EngineKind::batched) {
    // The engine prepares every step shape before it returns, so no request waits on that later.
    std::fprintf(stderr,
                 "serve: batched engine ready in %.2f s (KV blocks of %lld tokens, steps of up to %lld tokens%s)\n",
                 engine_seconds, static_cast<long long>(engine_options.block_size),
                 static_cast<long long>(engine_options.step_tokens),
                 engine_options.speculative.draft_max > 0
                     ? fmt::format(", {} drafts of up to {}", draft_model ? "draft-model" : "n-gram",
                                   engine_options.speculative.draft_max)
                           .c_str()
                     : "");
  } else {
    std::fprintf(stderr, "serve: session engine ready in %.2f s (one session per running request, in turn)\n",
                 engine_seconds);
  }

  chat::ChatTemplate tmpl = resolve_chat_template(o.chat_template, *model);
  if (o.server.model_id.empty()) o.server.model_id = std::filesystem::path(path).stem().string();
  if (!o.pooling.empty()) o.server.pooling = parse_pooling(o.pooling);
  if (o.server.threads == 0) o.server.threads = int(o.n_parallel + o.max_queue + 8);
  serve::HttpServer server(*model, *engine, tmpl, o.server);
  const int port = server.bind();
  std::fprintf(
      stderr,
      "serve: %s on http://%s:%d/v1 (model '%s', %lld parallel, context %lld, queue %lld, chat template %s%s)\n",
      path.c_str(), o.server.host.c_str(), port, o.server.model_id.c_str(), static_cast<long long>(o.n_parallel),
      static_cast<long long>(engine->n_ctx()), static_cast<long long>(o.max_queue), tmpl.describe().c_str(),
      o.server.api_key.empty() ? "" : ", API key required");
  for (size_t i = 0; i < engine_options.adapters.size(); ++i) {
    std::fprintf(stderr, "serve: LoRA adapter %zu: %s at scale %g (a request's \"lora\" field may change it)\n", i,
                 engine_options.adapters[i].adapter->path().c_str(), double(engine_options.adapters[i].scale));
  }

  std::atomic<bool> finished{false};
  std::thread signal_thread([&server, &finished, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (finished) return;  // woken by the main thread at the end
    std::fprintf(stderr, "serve: %s: draining (in-flight requests finish; a second signal exits at once)\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    std::thread second([signals] {
      int again = 0;
      sigwait(&signals, &again);
      std::fprintf(stderr, "serve: second signal: exiting now\n");
      std::_Exit(1);
    });
    second.detach();
    server.drain_and_stop();
  });
  server.serve();
  // serve() returned: drained (or the listener failed). Wake the signal thread if it still waits.
  finished = true;
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  std::fprintf(stderr, "serve: stopped\n");
  return 0;
}

const CommandRegistration registration{
    "serve", "Serve the model over an OpenAI-compatible HTTP API", [](CLI::App& app) {
      auto o = std::make_shared<ServeOptions>();
      add_model_options(app, o->model);
      app.add_option("--host", o->server.host, "address to listen on (loopback unless told otherwise)")
          ->capture_default_str();
      app.add_option("--port", o->server.port, "port to listen on (0: any free port)")
          ->capture_default_str()
          ->check(CLI::Range(0, 65535));
      app.add_option("--parallel", o->n_parallel, "requests generated at once")
          ->capture_default_str()
          ->check(CLI::Range(1, 1024));
      app.add_option("--queue", o->max_queue, "requests that may wait beyond those; more get 429")
          ->capture_default_str()
          ->check(CLI::Range(0, 100000));
      app.add_option("--engine", o->engine_kind,
                     "serving engine: batched (continuous batching over a paged KV cache) or session (one "
                     "session per request, stepped in turn; the default without --draft)");
      add_draft_options(app, o->draft);
      app.add_option("--block-size", o->engine.block_size, "KV cache block: positions per block")
          ->capture_default_str()
          ->check(CLI::Range(1, 1024));
      app.add_option("--kv-blocks", o->engine.kv_blocks,
                     "KV cache blocks in all (default: --parallel sequences of the whole context)")
          ->check(CLI::Range(int64_t(1), int64_t(1) << 30));
      app.add_option("--step-tokens", o->engine.step_tokens,
                     "most tokens one batched step evaluates (generated tokens and prompt chunks together)")
          ->capture_default_str()
          ->check(CLI::Range(1, 8192));
      app.add_option("--api-key", o->server.api_key,
                     "require 'Authorization: Bearer KEY' on every route but /health (also VKGRAPH_API_KEY)")
          ->envname("VKGRAPH_API_KEY");
      app.add_option("--alias", o->server.model_id, "the model's name in the API (default: the file's name)");
      add_chat_template_options(app, o->chat_template);
      app.add_option("--pooling", o->pooling,
                     "embedding pooling: mean, cls, last, none (default: the model's; mean when it names none)");
      app.add_option("--max-body", o->server.max_body_bytes, "largest request body in bytes; larger get 413")
          ->capture_default_str()
          ->check(CLI::Range(size_t(1024), size_t(1) << 30));
      app.add_flag("-v,--verbose", o->verbose, "log model loading and device details");
      return [o] { return serve_main(*o); };
    }};

}  // namespace
}  // namespace vkgraph::cli
