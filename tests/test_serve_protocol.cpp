// The server's protocol pieces without a server: OpenAI request parsing and its errors, stop
// sequences across token boundaries, the API-key check, SSE, base64 and the Prometheus text.

#include <catch2/catch_test_macros.hpp>

#include <nlohmann/json.hpp>

#include <string>

#include "cli/serve/api_error.h"
#include "cli/serve/auth.h"
#include "cli/serve/metrics_text.h"
#include "cli/serve/openai_schema.h"
#include "cli/serve/responses.h"
#include "cli/serve/sse.h"
#include "cli/serve/stop_matcher.h"

using namespace vkgraph;
using namespace vkgraph::serve;

namespace {

// The ApiError a body gets, as {status, param, code}.
template <typename Parse>
ApiError error_of(Parse parse, const std::string& body) {
  try {
    parse(body);
  } catch (const ApiError& e) {
    return e;
  }
  FAIL("no error for " << body);
  return ApiError(0, "", "");
}

ApiError chat_error(const std::string& body) { return error_of(parse_chat_request, body); }

}  // namespace

TEST_CASE("serve protocol: a chat request with every honoured field", "[serve]") {
  const ChatRequest r = parse_chat_request(R"({
    "model": "stories260K", "messages": [{"role": "developer", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "there"}]}],
    "max_completion_tokens": 12, "temperature": 0.5, "top_p": 0.9, "seed": -3, "stop": ["\n\n", "END"],
    "stream": true, "stream_options": {"include_usage": true}, "n": 1, "user": "ignored", "logprobs": false})");
  CHECK(r.model == "stories260K");
  REQUIRE(r.messages.size() == 2);
  CHECK(r.messages[0].role == "system");
  CHECK(r.messages[1].content == "Hello there");
  CHECK(r.gen.max_tokens == 12);
  CHECK(r.gen.temperature == 0.5f);
  CHECK(r.gen.top_p == 0.9f);
  CHECK(r.gen.seed == uint64_t(-3));
  CHECK(r.gen.stop == std::vector<std::string>{"\n\n", "END"});
  CHECK(r.gen.stream);
  CHECK(r.gen.include_usage);
  CHECK(!r.gen.lora);  // absent: the server's start-up adapter scales
  const ChatRequest l = parse_chat_request(
      R"({"messages": [{"role": "user", "content": "hi"}], "lora": [{"id": 1, "scale": 0.25}, {"id": 0, "scale": 0}]})");
  REQUIRE(l.gen.lora);
  REQUIRE(l.gen.lora->size() == 2);
  CHECK((*l.gen.lora)[0].id == 1);
  CHECK((*l.gen.lora)[0].scale == 0.25f);
  CHECK((*l.gen.lora)[1].scale == 0.0f);
  // OpenAI's defaults when absent: temperature 1, top_p 1, no top-k or min-p.
  const ChatRequest d = parse_chat_request(R"({"messages": [{"role": "user", "content": "hi"}], "stop": null})");
  CHECK(d.gen.temperature == 1.0f);
  CHECK(d.gen.top_p == 1.0f);
  CHECK(d.gen.top_k == 0);
  CHECK(d.gen.min_p == 0.0f);
  CHECK(!d.gen.max_tokens);
  CHECK(!d.gen.stream);
}

TEST_CASE("serve protocol: each bad chat request names its field", "[serve]") {
  struct Case {
    const char* body;
    const char* param;
    const char* code;
  };
  const Case cases[] = {
      {R"({"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"})", "temperature", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "temperature": 3})", "temperature", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "n": 2})", "n", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0})", "max_tokens", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1.5})", "max_tokens", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "stop": ["a", "b", "c", "d", "e"]})", "stop",
       "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "stop": [""]})", "stop", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "stop": 7})", "stop", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": true}})",
       "stream_options", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "stream": "yes"})", "stream", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]})", "tools",
       "unsupported_parameter"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "presence_penalty": 0.5})", "presence_penalty",
       "unsupported_parameter"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "model": 5})", "model", "invalid_type"},
      {R"({"model": "x"})", "messages", "missing_required_parameter"},
      {R"({"messages": []})", "messages", "invalid_value"},
      {R"({"messages": "hi"})", "messages", "invalid_type"},
      {R"({"messages": [{"role": "robot", "content": "hi"}]})", "messages[0].role", "invalid_value"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content", "missing_required_parameter"},
      {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})",
       "messages[0].content[0].type", "unsupported_value"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "lora": {"id": 0}})", "lora", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "lora": [3]})", "lora[0]", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "lora": [{"scale": 1}]})", "lora[0].id",
       "missing_required_parameter"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "lora": [{"id": 0, "scale": "x"}]})", "lora[0].scale",
       "invalid_type"},
  };
  for (const Case& c : cases) {
    const ApiError e = chat_error(c.body);
    INFO(c.body << " -> " << e.message);
    CHECK(e.status == 400);
    CHECK(e.type == "invalid_request_error");
    CHECK(e.param == c.param);
    CHECK(e.code == c.code);
    CHECK(e.message.find(c.param) != std::string::npos);  // the message names the field too
  }
}

TEST_CASE("serve protocol: bodies that are not a JSON object of UTF-8", "[serve]") {
  CHECK(chat_error("{\"messages\": [").code == "invalid_json");
  CHECK(chat_error("[1, 2]").message == "the request body must be a JSON object, not an array");
  CHECK(chat_error("").code == "invalid_json");
  const ApiError utf8 = chat_error("{\"messages\": [{\"role\": \"user\", \"content\": \"caf\xc3\x28\"}]}");
  CHECK(utf8.code == "invalid_utf8");
  CHECK(utf8.message == "the request body is not valid UTF-8");
  // A lone surrogate escape is not UTF-8 either.
  CHECK(chat_error(R"({"messages": [{"role": "user", "content": "\ud800"}]})").status == 400);
}

TEST_CASE("serve protocol: completion prompts and embedding inputs", "[serve]") {
  CHECK(parse_completion_request(R"({"prompt": "Once"})").prompt.text == "Once");
  const CompletionRequest tokens = parse_completion_request(R"({"prompt": [1, 403, 9]})");
  CHECK(tokens.prompt.is_tokens);
  CHECK(tokens.prompt.tokens == std::vector<int32_t>{1, 403, 9});
  CHECK(parse_completion_request(R"({"prompt": ["Once"]})").prompt.text == "Once");
  CHECK(error_of(parse_completion_request, R"({"prompt": ["a", "b"]})").param == "prompt");
  CHECK(error_of(parse_completion_request, R"({"prompt": [1, -2]})").param == "prompt");
  CHECK(error_of(parse_completion_request, R"({"prompt": {}})").code == "invalid_type");
  CHECK(error_of(parse_completion_request, R"({})").code == "missing_required_parameter");
  CHECK(error_of(parse_completion_request, R"({"prompt": "x", "echo": true})").param == "echo");

  const EmbeddingRequest e = parse_embedding_request(R"({"input": ["a", [1, 2]], "encoding_format": "base64"})");
  REQUIRE(e.inputs.size() == 2);
  CHECK(e.inputs[0].text == "a");
  CHECK(e.inputs[1].tokens == std::vector<int32_t>{1, 2});
  CHECK(e.base64);
  CHECK(parse_embedding_request(R"({"input": [5, 6]})").inputs.size() == 1);
  CHECK(error_of(parse_embedding_request, R"({"input": [5, "x"]})").param == "input");
  CHECK(error_of(parse_embedding_request, R"({"input": ["x", 5]})").param == "input[1]");
  CHECK(error_of(parse_embedding_request, R"({"input": "x", "encoding_format": "hex"})").param == "encoding_format");
}

TEST_CASE("serve protocol: stop sequences are matched across pieces and never emitted", "[serve]") {
  StopMatcher m({"END", "\n\n"});
  std::string out;
  for (const char* piece : {"Hello", " E", "N", "ough", " said E", "N", "D and more"}) out += m.push(piece);
  CHECK(out == "Hello ENough said ");
  CHECK(m.stopped());
  CHECK(m.push("later").empty());
  CHECK(m.finish().empty());

  // Held-back text that never completes a stop sequence comes out at the end.
  StopMatcher n({"END"});
  CHECK(n.push("the EN") == "the ");
  CHECK(n.finish() == "EN");
  // The earliest match wins, whichever sequence it is.
  StopMatcher e({"bc", "a"});
  CHECK(e.push("xabc") == "x");
  // UTF-8: text before a stop sequence is held back only from where the sequence could start.
  StopMatcher u({"\xc3\xa9!"});  // "é!"
  CHECK(u.push("caf\xc3\xa9") == "caf");
  CHECK(u.push("?") == "\xc3\xa9?");
}

TEST_CASE("serve protocol: API keys compare in constant time, Bearer scheme", "[serve]") {
  CHECK(constant_time_equal("secret", "secret"));
  CHECK(!constant_time_equal("secret", "secreT"));
  CHECK(!constant_time_equal("secret", "secret2"));
  CHECK(!constant_time_equal("", "x"));
  CHECK(constant_time_equal("", ""));
  CHECK(bearer_matches("Bearer sk-1", "sk-1"));
  CHECK(bearer_matches("bearer sk-1", "sk-1"));
  CHECK(!bearer_matches("Basic sk-1", "sk-1"));
  CHECK(!bearer_matches("sk-1", "sk-1"));
  CHECK(!bearer_matches("Bearer sk-2", "sk-1"));
  CHECK(!bearer_matches("", "sk-1"));
}

TEST_CASE("serve protocol: error objects, SSE events, base64", "[serve]") {
  const nlohmann::json e = error_json(invalid_field("top_p", "'top_p' must be a number", "invalid_type"));
  CHECK(e == nlohmann::json::parse(R"({"error": {"message": "'top_p' must be a number",
      "type": "invalid_request_error", "param": "top_p", "code": "invalid_type"}})"));
  CHECK(error_json(invalid_body("bad"))["error"]["param"].is_null());
  CHECK(sse_event({{"a", "x\ny"}}) == "data: {\"a\":\"x\\ny\"}\n\n");
  CHECK(sse_done() == "data: [DONE]\n\n");
  const uint8_t bytes[] = {'M', 'a', 'n', 'M', 'a'};
  CHECK(base64_encode(std::span<const uint8_t>(bytes, 3)) == "TWFu");
  CHECK(base64_encode(std::span<const uint8_t>(bytes, 5)) == "TWFuTWE=");
  CHECK(base64_encode(std::span<const uint8_t>(bytes, 4)) == "TWFuTQ==");
}

TEST_CASE("serve protocol: the Prometheus text", "[serve]") {
  ServerStats stats;
  stats.record_response("/v1/chat/completions", 200);
  stats.record_response("/v1/chat/completions", 200);
  stats.record_response("/v1/completions", 429);
  stats.record_finish("stop", 0.02, 0.3);
  serving::EngineMetrics m;
  m.generated_tokens_total = 42;
  m.queue_depth = 3;
  m.step_seconds = serving::Histogram{0.01, 0.1};
  m.step_seconds.observe(0.005);
  m.step_seconds.observe(0.05);
  m.step_seconds.observe(0.5);
  const std::string text = prometheus_text(stats.snapshot(), m);
  const auto has = [&](const std::string& line) {
    INFO(line);
    CHECK(text.find(line + "\n") != std::string::npos);
  };
  has(R"(vkgraph_http_responses_total{route="/v1/chat/completions",code="200"} 2)");
  has(R"(vkgraph_http_responses_total{route="/v1/completions",code="429"} 1)");
  has(R"(vkgraph_requests_finished_total{reason="stop"} 1)");
  has("# TYPE vkgraph_generated_tokens_total counter");
  has("vkgraph_generated_tokens_total 42");
  has("# TYPE vkgraph_queue_depth gauge");
  has("vkgraph_queue_depth 3");
  // Cumulative buckets.
  has(R"(vkgraph_step_seconds_bucket{le="0.01"} 1)");
  has(R"(vkgraph_step_seconds_bucket{le="0.1"} 2)");
  has(R"(vkgraph_step_seconds_bucket{le="+Inf"} 3)");
  has("vkgraph_step_seconds_count 3");
  has(R"(vkgraph_time_to_first_token_seconds_bucket{le="0.025"} 1)");
}
