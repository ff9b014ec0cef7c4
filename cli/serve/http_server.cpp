#include "cli/serve/http_server.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "cli/serve/auth.h"
#include "cli/serve/server_state.h"
#include "engine/core/error.h"

namespace vkgraph::serve {
namespace {

// Routes that answer without a key: load balancers and orchestrators probe /health.
bool is_public(const std::string& path) { return path == "/health"; }

// Routes that write their own log line (with tokens and times) when they succeed.
bool logs_itself(const std::string& path) {
  return path == "/v1/chat/completions" || path == "/v1/completions" || path == "/v1/embeddings";
}

}  // namespace

void send_error(httplib::Response& res, const ApiError& error) {
  res.status = error.status;
  if (error.retry_after_seconds > 0) {
    res.set_header("Retry-After", std::to_string(int64_t(std::ceil(error.retry_after_seconds))));
  }
  if (error.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  res.set_content(error_json(error).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void check_model(const HttpServer::State& state, const std::string& model) {
  if (!model.empty() && model != state.options.model_id) {
    throw ApiError(404,
                   fmt::format("The model '{}' does not exist; this server serves '{}'", model, state.options.model_id),
                   "invalid_request_error", "model", "model_not_found");
  }
}

HttpServer::HttpServer(const models::Model& model, serving::Engine& engine, chat::ChatTemplate chat_template,
                       ServerOptions options)
    : state_(new State{model, engine, chat_template, std::move(options)}), http_(std::make_unique<httplib::Server>()) {
  state_->created =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  install_routes();
}

HttpServer::~HttpServer() = default;

void HttpServer::install_routes() {
  httplib::Server& http = *http_;
  State& state = *state_;
  // Every waiting request holds a connection thread while the engine queues it, so the pool
  // must exceed the engine's queue, or the queue would never fill and 429 never be sent; a few
  // more threads answer /health and /metrics meanwhile.
  const int threads = state.options.threads > 0 ? state.options.threads : 128;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  http.set_payload_max_length(state.options.max_body_bytes);
  // An idle keep-alive connection is closed after 5 s: longer than clients keep theirs idle (Node's
  // agents and fetch 4 s; deploy/nginx 4 s), so the client always closes first. A server that
  // closed first would race a client reusing the connection at that moment, and that request
  // would fail with a connection reset (the official client's "Connection error."). The cost: a
  // drained server waits up to this long for idle connections before it exits.
  http.set_keep_alive_timeout(5);

  http.set_pre_routing_handler([&state](const httplib::Request& req, httplib::Response& res) {
    if (state.options.api_key.empty() || is_public(req.path)) return httplib::Server::HandlerResponse::Unhandled;
    if (bearer_matches(req.get_header_value("Authorization"), state.options.api_key)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const bool missing = !req.has_header("Authorization");
    send_error(res, ApiError(401,
                             missing ? "Missing API key: send it as 'Authorization: Bearer <key>'"
                                     : "Incorrect API key provided",
                             "invalid_request_error", {}, missing ? "missing_api_key" : "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });

  // Responses httplib makes itself (413, 404 of unknown routes, 400 of bad HTTP) get an
  // OpenAI-style body too.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([&state](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (res.status == 413) {
          send_error(res, ApiError(413, fmt::format("The request body exceeds {} bytes", state.options.max_body_bytes),
                                   "invalid_request_error", {}, "request_too_large"));
        } else if (res.status == 404) {
          send_error(res, ApiError(404, fmt::format("No route {} {}", req.method, req.path), "invalid_request_error",
                                   {}, "unknown_url"));
        } else if (res.status == 405) {
          send_error(res, ApiError(405, fmt::format("{} is not allowed on {}", req.method, req.path),
                                   "invalid_request_error", {}, "method_not_allowed"));
        } else {
          send_error(res, ApiError(res.status, fmt::format("HTTP error {}", res.status), "invalid_request_error"));
        }
        return httplib::Server::HandlerResponse::Handled;
      }));

  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string message = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const ApiError& e) {
      send_error(res, e);
      return;
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
    }
    send_error(res, ApiError(500, "Internal error: " + message, "server_error"));
  });

  // One line per request on stderr; generation and embedding requests write theirs (with
  // tokens and times) when they end, so here only the others and the failures.
  http.set_logger([&state](const httplib::Request& req, const httplib::Response& res) {
    state.stats.record_response(req.path, res.status);
    if (logs_itself(req.path) && res.status == 200) return;
    std::fprintf(stderr, "serve: %s %s %d %s\n", req.method.c_str(), req.path.c_str(), res.status,
                 req.remote_addr.c_str());
  });

  install_generation_routes(http, state);
  install_info_routes(http, state);
}

int HttpServer::bind() {
  const int port = state_->options.port == 0
                       ? http_->bind_to_any_port(state_->options.host)
                       : (http_->bind_to_port(state_->options.host, state_->options.port) ? state_->options.port : -1);
  VKGRAPH_CHECK(port > 0, "cannot listen on {}:{} (in use, or not an address of this machine)", state_->options.host,
                state_->options.port);
  return port;
}

void HttpServer::serve() { http_->listen_after_bind(); }

void HttpServer::drain_and_stop() {
  state_->draining = true;
  state_->engine.drain();
  {
    std::unique_lock lock(state_->active_mutex);
    state_->active_cv.wait(lock, [&] { return state_->active == 0; });
  }
  http_->stop();
}

void HttpServer::stop() { http_->stop(); }

}  // namespace vkgraph::serve
