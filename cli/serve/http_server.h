#pragma once
// `vkgraph serve`'s HTTP server (cpp-httplib): OpenAI's routes over a serving engine, API-key
// auth, a body size limit, OpenAI-shaped errors, a log line per request and a graceful drain.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cli/serve/server_stats.h"
#include "models/chat/chat_template.h"
#include "models/model.h"
#include "models/serving/engine.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace vkgraph::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                         // 0: any free port (bound_port() tells)
  std::string api_key;                     // "": no authentication
  std::string model_id;                    // the name /v1/models lists and requests may give
  size_t max_body_bytes = 8u << 20;        // larger bodies get 413
  int threads = 0;                         // connection threads; 0: enough for the engine's queue
  std::optional<models::Pooling> pooling;  // embeddings; absent: the file's, mean when it says none
};

class HttpServer {
 public:
  HttpServer(const models::Model& model, serving::Engine& engine, chat::ChatTemplate chat_template,
             ServerOptions options);
  ~HttpServer();

  // Binds (throws Error naming the address when it cannot); returns the port.
  int bind();
  // Serves until stop(); call after bind().
  void serve();
  // The graceful end: /health turns 503 and new requests get 503, in-flight requests finish and
  // their responses are written, then serve() returns.
  void drain_and_stop();
  // Stops at once (serve() returns; streams in flight are cut).
  void stop();

  // What the routes share (routes_*.cpp).
  struct State;

 private:
  void install_routes();
  std::unique_ptr<State> state_;
  std::unique_ptr<httplib::Server> http_;
};

}  // namespace vkgraph::serve
