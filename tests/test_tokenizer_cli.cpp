// `vkgraph tokenize`: the printed ids are the reference semantics (no BOS, specials parsed).

#include <catch2/catch_test_macros.hpp>

#include <cstdio>
#include <string>

#include "tests/test_models_shared.h"

namespace {

// Runs a shell command and returns its stdout and exit status.
std::string run(const std::string& command, int& status) {
  std::string out;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
  status = ::pclose(pipe);
  return out;
}

}  // namespace

TEST_CASE("vkgraph tokenize prints the reference ids", "[tokenizer][cli]") {
  const std::string cli = VKGRAPH_CLI_PATH;
  int status = 0;
  // The bundled default model is stories260K; the ids are the first line of its reference.
  CHECK(run(cli + " tokenize 'Hello world'", status) == "346 306 414 263 304 341\n");
  CHECK(status == 0);
  const std::string smol = vkgraph::testing::shared_file("models/tiny-bpe-vocab-q8_0.gguf");
  CHECK(run(cli + " tokenize -m " + smol + " 'Hello world'", status) == "19556 905\n");
  CHECK(status == 0);
  const std::string chat = run(cli + " tokenize -m " + smol + " '<|im_start|>user'", status);
  CHECK(chat.substr(0, chat.find(' ')) == "1");  // <|im_start|> as one special token
  CHECK(run(cli + " tokenize -m /nonexistent.gguf x 2>&1", status).find("/nonexistent.gguf") != std::string::npos);
  CHECK(status != 0);
}
