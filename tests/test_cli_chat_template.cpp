// The models' own chat templates from the command line: `vkgraph run --chat` prints the prompt as
// the template renders it, the options override or extend the template, and `vkgraph chat` in a
// real terminal (tmux) evaluates exactly the prompt the template renders.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <string>

#include "models/chat/chat_template.h"
#include "models/conversation.h"
#include "models/gguf/gguf_reader.h"
#include "models/tokenizer/tokenizer.h"
#include "run_command.h"
#include "shared_files.h"
#include "tmux_session.h"

using namespace vkgraph;
using namespace vkgraph::testing;
using Catch::Matchers::ContainsSubstring;

namespace {

std::string qwen3() { return shared_file("models/qwen3-vocab-q8_0.gguf"); }

// The prompt tokens of one user turn as `vkgraph chat` renders and encodes it.
size_t prompt_tokens(const std::string& model, const std::string& message) {
  const gguf::GgufFile file = gguf::GgufFile::open(model);
  const chat::ChatTemplate tmpl = chat::ChatTemplate::from_gguf(file);
  REQUIRE(tmpl.is_jinja());
  const std::vector<chat::Message> messages = {{"user", message}};
  return models::encode_chat_prompt(Tokenizer::from_gguf(file), tmpl.format(messages, true)).size();
}

// Starts `vkgraph chat` on `model`, sends one message and checks the header names the model's
// own template and /stats counts the prompt tokens that template gives.
void chat_uses_own_template(const std::string& session, const std::string& model) {
  TmuxSession tmux(session, std::string(VKGRAPH_CLI_PATH) + " chat --backend cpu --temp 0 -n 4 -c 512 -m " + model);
  REQUIRE(tmux.available());
  REQUIRE(tmux.wait_for(
      [](const std::string& s) {
        return s.find("/help for commands") != std::string::npos || s.find("[exit") != std::string::npos;
      },
      120));
  const std::string screen = tmux.screen();
  CHECK(screen.find("chat template: the model's tokenizer.chat_template (Jinja)") != std::string::npos);
  tmux.send_line("Hi there");
  REQUIRE(tmux.wait_for([](const std::string& s) { return s.find(" t/s") != std::string::npos; }, 120));
  tmux.send_line("/stats");
  const std::string expected = "last turn: " + std::to_string(prompt_tokens(model, "Hi there")) + " new prompt tokens";
  CHECK(tmux.wait_for_text(expected, 30));
  tmux.press("C-d");
  CHECK(tmux.wait_for_text("[exit 0]", 30));
}

}  // namespace

TEST_CASE("vkgraph run --chat prints the prompt the model's own template renders", "[cli][chat]") {
  const auto plain = run_vkgraph("run --backend cpu -n 0 --chat -p \"Hi there\" -m " + qwen3());
  INFO(plain.err);
  REQUIRE(plain.exit_code == 0);
  // Qwen3's template, thinking allowed (enable_thinking unset).
  CHECK(plain.out == "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n\n");

  const auto no_thinking = run_vkgraph("run --backend cpu -n 0 --system \"Be brief.\" -p Hi -m " + qwen3() +
                                       " --chat-template-kwargs '{\"enable_thinking\": false}'");
  INFO(no_thinking.err);
  REQUIRE(no_thinking.exit_code == 0);
  CHECK(no_thinking.out ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\n\n");

  const auto builtin = run_vkgraph("run --backend cpu -n 0 --chat-template llama3 -p Hi -m " + qwen3());
  REQUIRE(builtin.exit_code == 0);
  CHECK(builtin.out ==
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant"
        "<|end_header_id|>\n\n\n");
}

TEST_CASE("vkgraph refuses unknown chat templates and malformed template variables", "[cli][chat]") {
  const auto unknown = run_vkgraph("run --backend cpu -n 0 --chat-template vicuna -p Hi -m " + qwen3());
  CHECK(unknown.exit_code == 1);
  CHECK_THAT(unknown.err, ContainsSubstring("'vicuna' is neither a built-in format (chatml, llama3"));
  const auto kwargs = run_vkgraph("run --backend cpu -n 0 --chat-template-kwargs '[1]' -p Hi -m " + qwen3());
  CHECK(kwargs.exit_code == 1);
  CHECK_THAT(kwargs.err, ContainsSubstring("--chat-template-kwargs must be a JSON object"));
  // serve shares the options (cli/chat_template_options.h) and refuses before listening.
  const auto serve = run_vkgraph("serve --backend cpu --port 0 -c 256 --chat-template vicuna -m " + qwen3());
  CHECK(serve.exit_code == 1);
  CHECK_THAT(serve.err, ContainsSubstring("'vicuna' is neither a built-in format"));
}

TEST_CASE("chat in a terminal uses Qwen3's own template", "[cli][chat]") {
  chat_uses_own_template("vkgraph-chat-qwen3-template", qwen3());
}

TEST_CASE("chat in a terminal uses Llama 3's own template", "[cli][chat]") {
  chat_uses_own_template("vkgraph-chat-llama3-template", shared_file("models/llama3-vocab-q8_0.gguf"));
}
