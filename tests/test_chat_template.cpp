// Chat templates: the exact prompt text of each family for a system + user + assistant + user
// conversation, recognition of real templates' sources, and the override by name.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <string>
#include <vector>

#include "engine/core/error.h"
#include "models/chat/chat_template.h"
#include "models/gguf/gguf_reader.h"
#include "models/tokenizer/tokenizer.h"
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
  CHECK(tmpl.family() == TemplateFamily::ChatML);
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
}
