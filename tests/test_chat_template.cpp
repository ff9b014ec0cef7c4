// Chat templates: the exact prompt text of each built-in family for a system + user + assistant +
// user conversation, recognition of real templates' sources, the override by name or file, and the
// model's own Jinja template with the family as the warned fallback. (Jinja rendering itself is
// compared with python3-jinja2 in test_jinja_*.cpp.)

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "models/chat/chat_template.h"
#include "models/conversation.h"
#include "models/gguf/gguf_reader.h"
#include "models/tokenizer/tokenizer.h"
#include "tests/temp_dir.h"
#include "tests/test_models_shared.h"

using namespace vkgraph;
using namespace vkgraph::chat;
using Catch::Matchers::ContainsSubstring;

namespace {

const std::vector<Message> kConversation = {
    {"system", "You are a helpful assistant."},
    {"user", "Hello!"},
    {"assistant", "Hi there."},
    {"user", "What is 2+2?"},
};

// What the code under test writes to stderr (the log's warnings), by redirecting the descriptor.
class StderrCapture {
 public:
  StderrCapture() : saved_(dup(STDERR_FILENO)) {
    std::fflush(stderr);
    FILE* f = std::fopen(dir_.file("stderr").c_str(), "w");
    dup2(fileno(f), STDERR_FILENO);
    std::fclose(f);
  }
  ~StderrCapture() { restore(); }
  std::string text() {
    restore();
    std::ifstream in(dir_.file("stderr"));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }
  testing::TempDir dir_;
  int saved_;
};

}  // namespace

TEST_CASE("each chat template family renders the exact prompt text", "[chat]") {
  CHECK(ChatTemplate::from_name("chatml").format(kConversation, true) ==
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHello!<|im_end|>\n"
        "<|im_start|>assistant\nHi there.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
        "<|im_start|>assistant\n");
  CHECK(ChatTemplate::from_name("chatml").format(kConversation, false) ==
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHello!<|im_end|>\n"
        "<|im_start|>assistant\nHi there.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n");
  CHECK(ChatTemplate::from_name("llama3").format(kConversation, true) ==
        "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHi there.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  CHECK(ChatTemplate::from_name("llama2").format(kConversation, true) ==
        "[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello! [/INST]Hi there.</s>"
        "<s>[INST] What is 2+2? [/INST]");
  CHECK(ChatTemplate::from_name("mistral").format(kConversation, true) ==
        "[INST] You are a helpful assistant.\n\nHello![/INST] Hi there.</s>[INST] What is 2+2?[/INST]");
  CHECK(ChatTemplate::from_name("zephyr").format(kConversation, true) ==
        "<|system|>\nYou are a helpful assistant.<|endoftext|>\n"
        "<|user|>\nHello!<|endoftext|>\n"
        "<|assistant|>\nHi there.<|endoftext|>\n"
        "<|user|>\nWhat is 2+2?<|endoftext|>\n"
        "<|assistant|>\n");
  // Gemma has no system role: its text leads the first user turn; the assistant is "model".
  CHECK(ChatTemplate::from_name("gemma").format(kConversation, true) ==
        "<start_of_turn>user\nYou are a helpful assistant.\n\nHello!<end_of_turn>\n"
        "<start_of_turn>model\nHi there.<end_of_turn>\n"
        "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n"
        "<start_of_turn>model\n");
  CHECK(ChatTemplate::from_name("phi3").format(kConversation, false) ==
        "<|system|>\nYou are a helpful assistant.<|end|>\n"
        "<|user|>\nHello!<|end|>\n"
        "<|assistant|>\nHi there.<|end|>\n"
        "<|user|>\nWhat is 2+2?<|end|>\n");
}

TEST_CASE("chat templates are recognized from their Jinja sources", "[chat]") {
  const auto family_of = [](std::string_view source) { return ChatTemplate::detect(source).family(); };
  CHECK(family_of("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                  "'<|im_end|>' + '\\n'}}{% endfor %}") == TemplateFamily::ChatML);
  CHECK(family_of("{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ "
                  "message['content'] | trim + '<|eot_id|>' %}") == TemplateFamily::Llama3);
  CHECK(family_of("{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
                  "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}") == TemplateFamily::Llama2);
  CHECK(family_of("{{ bos_token }}{% for message in messages %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
                  "{% else %}{{ message['content'] + eos_token}}{% endfor %}") == TemplateFamily::Mistral);
  CHECK(family_of("{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + eos_token }}"
                  "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\\n' + message['content'] + eos_token }}"
                  "{% endif %}") == TemplateFamily::Zephyr);
  CHECK(family_of("{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}") ==
        TemplateFamily::Gemma);
  CHECK(family_of("{{'<|' + message['role'] + '|>' + '\\n' + message['content'] + '<|end|>' + '\\n'}}"
                  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}") == TemplateFamily::Phi3);
  const ChatTemplate unknown = ChatTemplate::detect("{{ messages | tojson }}");
  CHECK(unknown.family() == TemplateFamily::ChatML);
  CHECK_FALSE(unknown.recognized());
  CHECK(ChatTemplate::detect("<|im_start|>").recognized());
}

TEST_CASE("a chat template override by name, and unknown names refused", "[chat]") {
  CHECK(ChatTemplate::from_name("mistral").family() == TemplateFamily::Mistral);
  CHECK(ChatTemplate::from_name("zephyr").name() == "zephyr");
  try {
    ChatTemplate::from_name("vicuna");
    FAIL("unknown template name accepted");
  } catch (const Error& e) {
    CHECK_THAT(std::string(e.what()), ContainsSubstring("'vicuna'") && ContainsSubstring("chatml, llama3"));
  }
}

TEST_CASE("the SmolLM2 test model's template is ChatML and its prompt tokenizes with specials", "[chat]") {
  const gguf::GgufFile file = gguf::GgufFile::open(testing::shared_file("models/tiny-bpe-vocab-q8_0.gguf"));
  const ChatTemplate tmpl = ChatTemplate::from_gguf(file);
  CHECK(tmpl.is_jinja());  // rendered from the file's own Jinja source
  CHECK(tmpl.describe() == "the model's tokenizer.chat_template (Jinja)");
  CHECK(tmpl.family() == TemplateFamily::ChatML);  // the fallback it would use
  CHECK(tmpl.recognized());
  const Tokenizer tokenizer = Tokenizer::from_gguf(file);
  const std::vector<Message> messages = {{"user", "Hi"}};
  const std::vector<int32_t> ids = tokenizer.encode(tmpl.format(messages, true), false, true);
  REQUIRE(ids.size() > 4);
  CHECK(ids.front() == tokenizer.find_token("<|im_start|>"));
  CHECK(tokenizer.decode(ids) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  // A file without a template falls back to ChatML, unrecognized.
  const gguf::GgufFile stories = gguf::GgufFile::open(testing::shared_file("models/stories260K.gguf"));
  CHECK_FALSE(ChatTemplate::from_gguf(stories).recognized());
  CHECK_FALSE(ChatTemplate::from_gguf(stories).is_jinja());
}

TEST_CASE("Llama 3's own template writes BOS as text and the prompt gets it once", "[chat]") {
  const gguf::GgufFile file = gguf::GgufFile::open(testing::shared_file("models/llama3-vocab-q8_0.gguf"));
  const ChatTemplate tmpl = ChatTemplate::from_gguf(file);
  REQUIRE(tmpl.is_jinja());
  CHECK(tmpl.family() == TemplateFamily::Llama3);
  const std::vector<Message> messages = {{"system", "Be brief."}, {"user", "Hi"}};
  const std::string prompt = tmpl.format(messages, true);
  CHECK(prompt ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  const Tokenizer tokenizer = Tokenizer::from_gguf(file);
  REQUIRE(tokenizer.add_bos());
  const std::vector<int32_t> ids = models::encode_chat_prompt(tokenizer, prompt);
  REQUIRE(ids.size() > 2);
  CHECK(ids[0] == tokenizer.bos());
  CHECK(ids[1] == tokenizer.find_token("<|start_header_id|>"));
}

TEST_CASE("a model's template that does not parse or render falls back to its family, with a warning", "[chat]") {
  const std::vector<Message> with_system = {{"system", "Be brief."}, {"user", "Hi"}};
  const std::vector<Message> without_system = {{"user", "Hi"}};
  {
    StderrCapture err;
    const ChatTemplate broken = ChatTemplate::from_jinja("<|im_start|>{% if %}", {}, "the model's template");
    const std::string warning = err.text();
    CHECK_THAT(warning, ContainsSubstring("warning: chat template: the model's template could not be parsed") &&
                            ContainsSubstring("line 1") && ContainsSubstring("built-in chatml format"));
    CHECK_FALSE(broken.is_jinja());
    CHECK_THAT(broken.describe(), ContainsSubstring("did not parse"));
    CHECK(broken.format(without_system, true) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  }
  // Gemma 2's rule: no system role. Without a system message the template renders; with one it
  // raises, and the Gemma format (which folds the system text into the user turn) stands in.
  const ChatTemplate gemma = ChatTemplate::from_jinja(
      "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
      "{% endif %}{% for m in messages %}<start_of_turn>{{ m['role'] }}\n{{ m['content'] | trim }}<end_of_turn>\n"
      "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}",
      {"<bos>", "<eos>"}, "gemma's template");
  REQUIRE(gemma.is_jinja());
  CHECK(gemma.family() == TemplateFamily::Gemma);
  StderrCapture err;
  CHECK(gemma.format(without_system, true) == "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  CHECK(gemma.format(with_system, true) == "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
  CHECK(gemma.format(with_system, true) == "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
  const std::string warning = err.text();
  CHECK_THAT(warning, ContainsSubstring("gemma's template could not be rendered") &&
                          ContainsSubstring("System role not supported") && ContainsSubstring("built-in gemma format"));
  CHECK(warning.find("warning:") == warning.rfind("warning:"));  // once per template
  CHECK_THROWS_WITH(gemma.render_jinja(with_system, {}), ContainsSubstring("System role not supported"));
}

TEST_CASE("the --chat-template option takes a family name, a Jinja file or a tokenizer_config.json", "[chat]") {
  const testing::TempDir dir;
  const std::vector<Message> messages = {{"user", "Hi"}};
  CHECK_FALSE(ChatTemplate::from_option("llama3", {}).is_jinja());
  CHECK(ChatTemplate::from_option("llama3", {}).family() == TemplateFamily::Llama3);

  const std::string jinja_file = dir.file("t.jinja");
  std::ofstream(jinja_file) << "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}"
                               "{% if add_generation_prompt %}>{% endif %}\n";
  const ChatTemplate from_file = ChatTemplate::from_option(jinja_file, {"<s>", "</s>"});
  CHECK(from_file.is_jinja());
  CHECK(from_file.describe() == jinja_file + " (Jinja)");
  CHECK(from_file.format(messages, true) == "<s>[user:Hi]>");

  const std::string config = dir.file("tokenizer_config.json");
  std::ofstream(config)
      << R"({"bos_token": "<x>", "chat_template": [{"name": "tool_use", "template": "tools"},)"
      << R"( {"name": "default", "template": "{% for m in messages %}{{ m.content }}{% endfor %}"}]})";
  CHECK(ChatTemplate::from_option(config, {}).format(messages, true) == "Hi");

  // A template the user names is not second-guessed: its errors are errors.
  const std::string bad = dir.file("bad.jinja");
  std::ofstream(bad) << "ok\n{% for x in %}";
  CHECK_THROWS_WITH(ChatTemplate::from_option(bad, {}), ContainsSubstring(bad) && ContainsSubstring("line 2"));
  CHECK_THROWS_WITH(ChatTemplate::from_option(dir.file("missing.jinja"), {}),
                    ContainsSubstring("neither a built-in format") && ContainsSubstring("gemma, phi3"));

  // The model's own, else ChatML as a guess.
  CHECK(ChatTemplate::for_model("", "", {}).describe() == "chatml (built in; no template recognized)");
  CHECK(ChatTemplate::for_model("zephyr", "{{ x }}", {}).describe() == "zephyr (built in)");
  CHECK(ChatTemplate::for_model("", "{{ messages[0].content }}", {}).is_jinja());
}

TEST_CASE("template variables: enable_thinking and extra variables reach the template", "[chat]") {
  const ChatTemplate tmpl = ChatTemplate::from_jinja(
      "{{ enable_thinking is defined }}/{{ enable_thinking|default('-') }}/{{ tools }}/{{ extra|default('none') }}/"
      "{{ strftime_now('%Y-%m-%d') }}",
      {}, "test");
  const std::vector<Message> messages = {{"user", "Hi"}};
  FormatOptions options;
  options.now = 0;  // 1970-01-01 in UTC; a day either side in other time zones
  CHECK(tmpl.render_jinja(messages, options).rfind("False/-/None/none/19", 0) == 0);
  options.enable_thinking = false;
  options.variables = {{"extra", {1, "two"}}};
  CHECK(tmpl.render_jinja(messages, options).rfind("True/False/None/[1, 'two']/19", 0) == 0);
}
