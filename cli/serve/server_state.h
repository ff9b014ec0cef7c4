#pragma once
// What every route of the server shares: the model, the engine, the options, the counters, and
// the count of responses still being written (the drain waits for it).

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "cli/serve/api_error.h"
#include "cli/serve/http_server.h"
#include "cli/serve/server_stats.h"

namespace vkgraph::serve {

struct HttpServer::State {
  const models::Model& model;
  serving::Engine& engine;
  chat::ChatTemplate chat_template;
  ServerOptions options;
  int64_t created = 0;  // the model list's `created`: when the server started
  ServerStats stats;
  std::atomic<bool> draining{false};

  // Generation responses not yet fully written (streams included).
  std::mutex active_mutex;
  std::condition_variable active_cv;
  int64_t active = 0;

  void begin_response() {
    std::lock_guard lock(active_mutex);
    active++;
  }
  void end_response() {
    {
      std::lock_guard lock(active_mutex);
      active--;
    }
    active_cv.notify_all();
  }
};

// Writes an OpenAI error object (and Retry-After when the error has one).
void send_error(httplib::Response& res, const ApiError& error);
// Throws ApiError 404 unless `model` is empty or the served model's id.
void check_model(const HttpServer::State& state, const std::string& model);

// The routes, by file.
void install_generation_routes(httplib::Server& http, HttpServer::State& state);
void install_info_routes(httplib::Server& http, HttpServer::State& state);

}  // namespace vkgraph::serve
