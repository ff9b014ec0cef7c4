// GET /v1/models, GET /health, GET /metrics, GET /lora-adapters and POST /v1/embeddings.

#include <fmt/format.h>

#include "cli/serve/metrics_text.h"
#include "cli/serve/openai_schema.h"
#include "cli/serve/responses.h"
#include "cli/serve/server_state.h"
#include "models/embedding.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::serve {
namespace {

using nlohmann::json;

void send_json(httplib::Response& res, const json& body) {
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

std::vector<int32_t> embedding_tokens(const HttpServer::State& state, const TextOrTokens& input, size_t index,
                                      bool single) {
  const std::string param = single ? "input" : fmt::format("input[{}]", index);
  const Tokenizer& tok = state.model.tokenizer();
  std::vector<int32_t> tokens = input.is_tokens ? input.tokens : tok.encode(input.text, tok.add_bos(), true);
  if (tokens.empty())
    throw invalid_field(param, fmt::format("'{}' is empty: nothing to embed", param), "invalid_value");
  const int64_t n_ctx = state.engine.n_ctx();
  if (int64_t(tokens.size()) > n_ctx) {
    throw ApiError(
        400, fmt::format("'{}' is {} tokens long, more than the context of {} tokens", param, tokens.size(), n_ctx),
        "invalid_request_error", param, "context_length_exceeded");
  }
  const int64_t n_vocab = state.model.hparams().n_vocab;
  for (int32_t id : tokens) {
    if (id >= n_vocab) {
      throw invalid_field(param, fmt::format("Token {} is outside the vocabulary of {} tokens", id, n_vocab),
                          "invalid_value");
    }
  }
  return tokens;
}

}  // namespace

void install_info_routes(httplib::Server& http, HttpServer::State& state) {
  http.Get("/health", [&state](const httplib::Request&, httplib::Response& res) {
    // A draining server says so, so a load balancer stops sending it requests.
    if (state.draining) {
      res.status = 503;
      send_json(res, {{"status", "draining"}});
      return;
    }
    send_json(res, {{"status", "ok"}});
  });

  http.Get("/v1/models", [&state](const httplib::Request&, httplib::Response& res) {
    send_json(res, model_list(state.options.model_id, state.created));
  });
  http.Get(R"(/v1/models/(.+))", [&state](const httplib::Request& req, httplib::Response& res) {
    check_model(state, req.matches[1]);
    send_json(res, model_list(state.options.model_id, state.created)["data"][0]);
  });

  // The LoRA adapters loaded at start-up, as llama-server lists them: a request's `lora` field
  // names them by `id`; `scale` is what applies to requests without one.
  http.Get("/lora-adapters", [&state](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    const std::vector<models::AdapterUse>& loaded = state.engine.adapters();
    for (size_t i = 0; i < loaded.size(); ++i) {
      list.push_back({{"id", i}, {"path", loaded[i].adapter->path()}, {"scale", loaded[i].scale}});
    }
    send_json(res, list);
  });

  http.Get("/metrics", [&state](const httplib::Request&, httplib::Response& res) {
    res.set_content(prometheus_text(state.stats.snapshot(), state.engine.metrics()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });

  http.Post("/v1/embeddings", [&state](const httplib::Request& req, httplib::Response& res) {
    const EmbeddingRequest r = parse_embedding_request(req.body);
    check_model(state, r.model);
    if (state.draining) {
      ApiError error(503, "the server is shutting down and takes no new requests", "server_error", {}, "shutting_down");
      error.retry_after_seconds = 1;
      throw error;
    }
    std::vector<std::vector<int32_t>> inputs;
    int64_t total = 0;
    for (size_t i = 0; i < r.inputs.size(); ++i) {
      inputs.push_back(embedding_tokens(state, r.inputs[i], i, r.inputs.size() == 1));
      total += int64_t(inputs.back().size());
    }
    std::vector<std::vector<float>> vectors;
    for (const auto& tokens : inputs) vectors.push_back(state.engine.embed(tokens, state.options.pooling));
    send_json(res, embeddings(state.options.model_id, vectors, r.base64, total));
    std::fprintf(stderr, "serve: POST /v1/embeddings 200 inputs=%zu tokens=%lld\n", inputs.size(),
                 static_cast<long long>(total));
  });
}

}  // namespace vkgraph::serve
