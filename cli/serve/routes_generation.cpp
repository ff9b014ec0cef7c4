// POST /v1/chat/completions and POST /v1/completions: parse and check the body, tokenize,
// submit to the engine, then answer with the whole text or stream it as server-sent events.

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "cli/serve/chat_prompt.h"
#include "cli/serve/generation_job.h"
#include "cli/serve/openai_schema.h"
#include "cli/serve/responses.h"
#include "cli/serve/server_state.h"
#include "cli/serve/sse.h"
#include "models/lora/adapter_choice.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::serve {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

enum class Kind { chat, text };

// How long a stream may stay silent (waiting in the queue, a long prompt) before a comment line
// is written: a write to a vanished client fails, so its request is cancelled even before its
// first token.
constexpr auto heartbeat_interval = std::chrono::seconds(2);
// How long a stream waits for the next token before checking on its client again.
constexpr auto stream_poll = std::chrono::milliseconds(200);

models::SamplerParams sampler_params(const GenerationFields& g) {
  models::SamplerParams p;
  p.temperature = g.temperature;
  p.top_p = g.top_p;
  p.top_k = g.top_k;
  p.min_p = g.min_p;
  p.repeat_penalty = g.repeat_penalty;
  p.seed = g.seed ? *g.seed : std::random_device{}();
  return p;
}

// The adapters a request's `lora` field chooses among those loaded at start-up.
std::vector<models::AdapterUse> chosen_adapters(const HttpServer::State& state, const std::vector<LoraChoice>& lora) {
  const std::vector<models::AdapterUse>& loaded = state.engine.adapters();
  if (loaded.empty() && !lora.empty()) {
    throw invalid_field("lora", "'lora' names an adapter but the server loaded none (start it with --lora FILE)",
                        "invalid_value");
  }
  std::vector<models::AdapterRequest> request;
  for (const LoraChoice& c : lora) request.push_back({c.id, c.scale});
  try {
    return models::choose_adapters(loaded, request);
  } catch (const Error& e) {
    throw invalid_field("lora", e.what(), "invalid_value");
  }
}

serving::Request make_request(const HttpServer::State& state, std::vector<int32_t> prompt, const GenerationFields& g,
                              const char* prompt_param) {
  const int64_t n_ctx = state.engine.n_ctx();
  const auto n = int64_t(prompt.size());
  if (n == 0) {
    throw invalid_field(prompt_param, "The prompt is empty (and the model adds no BOS token): nothing to continue",
                        "invalid_value");
  }
  if (n > n_ctx) {
    throw ApiError(400, fmt::format("The prompt is {} tokens long, more than the context of {} tokens", n, n_ctx),
                   "invalid_request_error", prompt_param, "context_length_exceeded");
  }
  const int64_t n_vocab = state.model.hparams().n_vocab;
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (prompt[i] >= n_vocab) {
      throw invalid_field(prompt_param,
                          fmt::format("Token {} (at {}) is outside the vocabulary of {} tokens", prompt[i], i, n_vocab),
                          "invalid_value");
    }
  }
  serving::Request r;
  r.prompt = std::move(prompt);
  // Without max_tokens, generation may go on to the end of the context.
  r.max_tokens = g.max_tokens.value_or(std::max<int64_t>(1, n_ctx - n));
  r.sampling = sampler_params(g);
  r.ignore_eos = g.ignore_eos;
  if (g.lora) r.adapters = chosen_adapters(state, *g.lora);
  if (g.draft_max && *g.draft_max > state.engine.draft_max()) {
    throw invalid_field("speculative.n_max",
                        fmt::format("'speculative.n_max' is {}; this server verifies at most {} drafted tokens per "
                                    "step (--draft ngram --draft-max N)",
                                    *g.draft_max, state.engine.draft_max()),
                        "invalid_value");
  }
  r.draft_max = g.draft_max;
  r.draft_min = g.draft_min;
  return r;
}

// What a finished request tells the log and the counters.
void account(HttpServer::State& state, const char* route, bool stream, const GenerationJob& job, int status) {
  const serving::Completion& c = job.completion();
  const std::string reason = job.finish_reason().empty() ? serving::finish_reason_name(c.reason) : job.finish_reason();
  state.stats.record_finish(reason, c.first_token_seconds, c.total_seconds);
  std::fprintf(stderr,
               "serve: POST %s %d%s prompt=%lld cached=%lld generated=%lld drafted=%lld accepted=%lld finish=%s "
               "queue=%.3fs first=%.3fs total=%.3fs\n",
               route, status, stream ? " stream" : "", static_cast<long long>(c.prompt_tokens),
               static_cast<long long>(c.cached_prompt_tokens), static_cast<long long>(c.generated_tokens),
               static_cast<long long>(c.drafted_tokens), static_cast<long long>(c.accepted_tokens), reason.c_str(),
               c.queue_seconds, c.first_token_seconds, c.total_seconds);
}

Usage usage_of(const serving::Completion& c) {
  return Usage{c.prompt_tokens, c.generated_tokens, c.cached_prompt_tokens};
}

ApiError generation_failed(const serving::Completion& c) {
  return ApiError(500, "Generation failed: " + c.error, "server_error", {}, "generation_failed");
}

serving::RequestId submit(HttpServer::State& state, serving::Request request, GenerationJob& job,
                          const char* prompt_param) {
  try {
    return state.engine.submit(std::move(request), job.on_token(), job.on_done());
  } catch (const serving::QueueFull& e) {
    ApiError error(429, std::string("The server is busy: ") + e.what() + "; retry later", "rate_limit_error", {},
                   "queue_full");
    error.retry_after_seconds = e.retry_after_seconds;
    throw error;
  } catch (const serving::ShuttingDown& e) {
    ApiError error(503, e.what(), "server_error", {}, "shutting_down");
    error.retry_after_seconds = 1;
    throw error;
  } catch (const Error& e) {  // a request the engine can never run
    throw invalid_field(prompt_param, e.what(), "invalid_value");
  }
}

// Shared between the provider and the releaser of one stream.
struct Stream {
  Kind kind;
  ResponseHeader header;
  bool include_usage = false;
  serving::RequestId id = 0;
  std::shared_ptr<GenerationJob> job;
  bool sent_role = false;
  bool finished = false;
  Clock::time_point last_write = Clock::now();
};

bool write(httplib::DataSink& sink, Stream& s, const std::string& event) {
  s.last_write = Clock::now();
  return sink.write(event.data(), event.size());
}

// One call of the chunked content provider: waits a little for text and writes what came.
// Returns false when the client is gone.
bool pump(Stream& s, httplib::DataSink& sink) {
  if (s.kind == Kind::chat && !s.sent_role) {  // OpenAI's first chunk: the role, empty content
    const std::string empty;
    if (!write(sink, s, sse_event(chat_chunk(s.header, &empty, true, "")))) return false;
    s.sent_role = true;
  }
  const GenerationJob::Update u = s.job->wait(stream_poll);
  if (!u.text.empty()) {
    const json chunk =
        s.kind == Kind::chat ? chat_chunk(s.header, &u.text, false, "") : text_chunk(s.header, u.text, "");
    if (!write(sink, s, sse_event(chunk))) return false;
  }
  if (u.done) {
    const serving::Completion& c = s.job->completion();
    std::string tail;
    if (c.reason == serving::FinishReason::error) {
      tail += sse_event(error_json(generation_failed(c)));
    } else {
      const std::string reason = s.job->finish_reason();
      tail += sse_event(s.kind == Kind::chat ? chat_chunk(s.header, nullptr, false, reason)
                                             : text_chunk(s.header, "", reason));
      if (s.include_usage) {
        tail += sse_event(s.kind == Kind::chat ? chat_usage_chunk(s.header, usage_of(c))
                                               : text_usage_chunk(s.header, usage_of(c)));
      }
    }
    tail += sse_done();
    if (!write(sink, s, tail)) return false;
    s.finished = true;
    sink.done();
    return true;
  }
  if (Clock::now() - s.last_write >= heartbeat_interval) return write(sink, s, sse_comment("waiting"));
  return true;
}

void generate(HttpServer::State& state, httplib::Response& res, Kind kind, serving::Request request,
              const GenerationFields& gen, const std::string& model_id) {
  const char* route = kind == Kind::chat ? "/v1/chat/completions" : "/v1/completions";
  const char* prompt_param = kind == Kind::chat ? "messages" : "prompt";
  auto job = std::make_shared<GenerationJob>(state.model.tokenizer(), gen.stop);
  const serving::RequestId id = submit(state, std::move(request), *job, prompt_param);
  ResponseHeader header{
      new_response_id(kind == Kind::chat ? "chatcmpl" : "cmpl"),
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(),
      model_id};

  if (!gen.stream) {
    const std::string text = job->wait_all();
    const serving::Completion& c = job->completion();
    if (c.reason == serving::FinishReason::error) {
      account(state, route, false, *job, 500);
      throw generation_failed(c);
    }
    const json body = kind == Kind::chat ? chat_completion(header, text, job->finish_reason(), usage_of(c))
                                         : text_completion(header, text, job->finish_reason(), usage_of(c));
    res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
    account(state, route, false, *job, 200);
    return;
  }

  auto stream = std::make_shared<Stream>();
  stream->kind = kind;
  stream->header = std::move(header);
  stream->include_usage = gen.include_usage;
  stream->id = id;
  stream->job = job;
  state.begin_response();
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // nginx: pass events on as they come
  res.set_chunked_content_provider(
      "text/event-stream", [stream](size_t, httplib::DataSink& sink) { return pump(*stream, sink); },
      [stream, &state, route](bool) {
        if (!stream->finished) {  // the client left (or the server stops): free the sequence now
          stream->job->abandon();
          state.engine.cancel(stream->id);
          stream->job->wait_all();
        }
        account(state, route, true, *stream->job, 200);
        state.end_response();
      });
}

}  // namespace

void install_generation_routes(httplib::Server& http, HttpServer::State& state) {
  http.Post("/v1/chat/completions", [&state](const httplib::Request& req, httplib::Response& res) {
    const ChatRequest r = parse_chat_request(req.body);
    check_model(state, r.model);
    std::vector<int32_t> prompt = chat_prompt_tokens(state.model.tokenizer(), state.chat_template, r.messages);
    generate(state, res, Kind::chat, make_request(state, std::move(prompt), r.gen, "messages"), r.gen,
             state.options.model_id);
  });
  http.Post("/v1/completions", [&state](const httplib::Request& req, httplib::Response& res) {
    CompletionRequest r = parse_completion_request(req.body);
    check_model(state, r.model);
    std::vector<int32_t> prompt =
        r.prompt.is_tokens ? std::move(r.prompt.tokens) : text_prompt_tokens(state.model.tokenizer(), r.prompt.text);
    generate(state, res, Kind::text, make_request(state, std::move(prompt), r.gen, "prompt"), r.gen,
             state.options.model_id);
  });
}

}  // namespace vkgraph::serve
