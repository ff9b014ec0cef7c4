// `vkgraph chat`: a conversation with a model in the terminal.

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <atomic>
#include <cstdio>

#include "cli/chat_template_options.h"
#include "cli/command.h"
#include "cli/draft_options.h"
#include "cli/line_reader.h"
#include "cli/model_options.h"
#include "cli/progress_bar.h"
#include "cli/sampling_options.h"
#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "models/chat/chat_template.h"
#include "models/conversation.h"
#include "models/gguf/gguf_reader.h"
#include "models/model.h"
#include "models/quantize.h"

namespace vkgraph::cli {
namespace {

struct ChatOptions {
  ModelOptions model;
  std::string system;
  ChatTemplateOptions chat_template;
  int64_t n_predict = 512;
  SamplingOptions sampling;
  DraftOptions draft;
  bool ignore_eos = false;
};

// Ctrl-C while a reply streams stops it; Ctrl-C at the prompt (or a second one during a reply)
// ends the chat. At the prompt the handler closes standard input, which makes the blocked read
// return end-of-input: the one async-signal-safe way to wake it.
std::atomic<bool> generating{false};
std::atomic<bool> stop_reply{false};
std::atomic<bool> quit{false};

void on_interrupt(int) {
  if (generating.load() && !stop_reply.load()) {
    stop_reply.store(true);
    return;
  }
  quit.store(true);
  stop_reply.store(true);
  close(STDIN_FILENO);
}

void install_interrupt_handler() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }

void dim_line(const std::string& text) {
  if (stderr_is_terminal()) {
    std::fprintf(stderr, "\033[2m%s\033[0m\n", text.c_str());
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
}

const char* help_text =
    "  /help          this list\n"
    "  /reset         forget the conversation (keeps the system prompt)\n"
    "  /system TEXT   set the system prompt (starts a new conversation)\n"
    "  /stats         tokens, speeds and context use\n"
    "  /save FILE     save the conversation as JSON\n"
    "  /load FILE     load a saved conversation\n"
    "  /exit          leave (also Ctrl-D, or Ctrl-C at the prompt)\n"
    "  A line ending in \\ continues on the next line; \"\"\" starts and ends a multi-line message.\n"
    "  Ctrl-C stops a reply in progress.\n";

struct Totals {
  int64_t prompt_tokens = 0, generated_tokens = 0, turns = 0;
  double prompt_seconds = 0, generation_seconds = 0;
  int64_t target_steps = 0, drafted = 0, accepted = 0, step_tokens = 0;
  models::TurnStats last;
};

// Reads one message: continuation lines after a trailing backslash, or a """ block.
std::optional<std::string> read_message(LineReader& reader) {
  std::optional<std::string> line = reader.read("> ");
  if (!line) return std::nullopt;
  if (*line == "\"\"\"") {
    std::string text;
    while (auto more = reader.read(". ")) {
      if (*more == "\"\"\"") return text;
      text += (text.empty() ? "" : "\n") + *more;
    }
    return std::nullopt;
  }
  std::string text = *line;
  while (!text.empty() && text.back() == '\\') {
    text.back() = '\n';
    auto more = reader.read(". ");
    if (!more) break;
    text += *more;
  }
  return text;
}

int chat(const ChatOptions& o) {
  const std::string path = model_path(o.model);
  std::unique_ptr<Backend> backend = create_model_backend(o.model);

  std::unique_ptr<models::Model> model;
  {
    ProgressBar bar("loading " + path);
    models::LoadOptions load = load_options(o.model);
    load.progress = [&bar](const models::LoadProgress& p) {
      bar.update(p.bytes_done, p.bytes_total, fmt::format("{:.1f} MiB", double(p.bytes_done) / (1 << 20)));
      return !quit.load();
    };
    model = models::Model::load(path, *backend, load);
    bar.finish(fmt::format("({}, {} on {})", model->hparams().name, backend->name(), backend->device_name()));
  }
  const models::SessionOptions session_opts = session_options(o.model, *model);
  models::Session session(*model, *backend, with_draft_slots(session_opts, o.draft));
  session.set_adapters(load_adapters(o.model, *model, *backend));
  DraftSetup draft;
  if (drafting(o.draft)) {
    ProgressBar bar("preparing drafts");
    draft = make_drafter(o.draft, *model, *backend, session_opts);
    bar.finish(draft.description);
  }
  {
    ProgressBar bar("preparing kernels");
    session.warm_up();
    bar.finish();
  }

  const chat::ChatTemplate tmpl = resolve_chat_template(o.chat_template, *model);
  models::Conversation conversation(session, tmpl, o.system);
  conversation.set_ignore_eos(o.ignore_eos);
  conversation.set_drafter(draft.drafter.get(), o.draft.params);
  const models::SamplerParams sampling = resolve_sampling(o.sampling);
  models::Sampler sampler(sampling);

  dim_line(fmt::format("chat template: {}; context {} tokens{}; /help for commands", tmpl.describe(), session.n_ctx(),
                       session.ring() ? fmt::format(" (ring, {} sinks)", session.sinks()) : ""));
  install_interrupt_handler();
  LineReader reader;
  Totals totals;
  while (!quit.load()) {
    const std::optional<std::string> message = read_message(reader);
    if (!message || quit.load()) break;
    if (message->empty()) continue;
    reader.remember(*message);
    const std::string& m = *message;
    try {
      if (m == "/exit" || m == "/quit") break;
      if (m == "/help") {
        std::fputs(help_text, stdout);
        continue;
      }
      if (m == "/reset") {
        conversation.reset();
        dim_line("conversation reset");
        continue;
      }
      if (m == "/system" || m.rfind("/system ", 0) == 0) {
        conversation.set_system_prompt(m.size() > 8 ? m.substr(8) : "");
        conversation.reset();
        dim_line("system prompt set; new conversation");
        continue;
      }
      if (m == "/stats") {
        const auto rate = [](int64_t n, double s) { return s > 0 ? double(n) / s : 0.0; };
        std::printf("turns %lld; context %lld of %lld tokens (%.0f%%)\n", (long long)totals.turns,
                    (long long)conversation.context_used(), (long long)conversation.context_size(),
                    100.0 * double(conversation.context_used()) / double(conversation.context_size()));
        std::printf("prompt: %lld tokens, %.1f t/s; generation: %lld tokens, %.1f t/s\n",
                    (long long)totals.prompt_tokens, rate(totals.prompt_tokens, totals.prompt_seconds),
                    (long long)totals.generated_tokens, rate(totals.generated_tokens, totals.generation_seconds));
        if (session.ring()) {
          std::printf("KV ring: %lld tokens since the start, %lld evicted (%lld sinks kept)\n",
                      (long long)session.n_past(), (long long)session.evicted(), (long long)session.sinks());
        }
        if (draft.drafter) {
          std::printf("speculative: %lld of %lld drafted tokens accepted (%.1f%%), %.2f tokens per target step\n",
                      (long long)totals.accepted, (long long)totals.drafted,
                      totals.drafted > 0 ? 100.0 * double(totals.accepted) / double(totals.drafted) : 0.0,
                      totals.target_steps > 0 ? double(totals.step_tokens) / double(totals.target_steps) : 0.0);
        }
        std::printf("last turn: %lld new prompt tokens (%lld reused from the cache), %lld generated\n",
                    (long long)totals.last.prompt_tokens, (long long)totals.last.reused_tokens,
                    (long long)totals.last.generated_tokens);
        continue;
      }
      if (m.rfind("/save ", 0) == 0) {
        conversation.save(m.substr(6));
        dim_line("saved to " + m.substr(6));
        continue;
      }
      if (m.rfind("/load ", 0) == 0) {
        conversation.load(m.substr(6));
        dim_line(fmt::format("loaded {} messages from {}", conversation.messages().size(), m.substr(6)));
        continue;
      }
      if (m[0] == '/') {
        dim_line("unknown command " + m + " (/help lists them)");
        continue;
      }
      stop_reply.store(false);
      generating.store(true);
      const models::TurnStats stats = conversation.reply(
          m, sampler, o.n_predict,
          [](const std::string& piece) {
            std::fputs(piece.c_str(), stdout);
            std::fflush(stdout);
          },
          [] { return stop_reply.load(); });
      generating.store(false);
      std::fputs("\n", stdout);
      std::fflush(stdout);
      totals.turns++;
      totals.prompt_tokens += stats.prompt_tokens;
      totals.generated_tokens += stats.generated_tokens;
      totals.prompt_seconds += stats.prompt_seconds;
      totals.generation_seconds += stats.generation_seconds;
      totals.last = stats;
      totals.target_steps += stats.speculative.target_steps;
      totals.drafted += stats.speculative.drafted;
      totals.accepted += stats.speculative.accepted;
      totals.step_tokens += stats.speculative.tokens;
      dim_line(
          fmt::format("{} tokens, {:.1f} t/s{}", stats.generated_tokens,
                      stats.generation_seconds > 0 ? double(stats.generated_tokens) / stats.generation_seconds : 0.0,
                      stats.interrupted ? " (stopped)" : ""));
    } catch (const Error& e) {
      generating.store(false);
      std::fprintf(stderr, "error: %s\n", e.what());
    }
  }
  std::fputs("\n", stdout);
  return 0;
}

const CommandRegistration registration{"chat", "Chat with a model in the terminal", [](CLI::App& app) {
                                         auto o = std::make_shared<ChatOptions>();
                                         app.add_option("--system", o->system, "system prompt");
                                         add_chat_template_options(app, o->chat_template);
                                         app.add_option("-n,--n-predict", o->n_predict, "most tokens in one reply")
                                             ->capture_default_str()
                                             ->check(CLI::PositiveNumber);
                                         add_model_options(app, o->model);
                                         add_sampling_options(app, o->sampling);
                                         add_draft_options(app, o->draft);
                                         app.add_flag("--ignore-eos", o->ignore_eos,
                                                      "keep generating past end-of-text tokens (until -n)");
                                         return [o] { return chat(*o); };
                                       }};

}  // namespace
}  // namespace vkgraph::cli
