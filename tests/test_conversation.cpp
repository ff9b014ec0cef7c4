// A chat conversation on a real vocabulary: the exact ChatML text the model sees, and only the
// new text evaluated on each turn.

#include <catch2/catch_test_macros.hpp>

#include "engine/backend/registry.h"
#include "models/chat/chat_template.h"
#include "models/conversation.h"
#include "models/gguf/gguf_reader.h"
#include "models/model.h"
#include "shared_files.h"
#include "temp_dir.h"

using namespace vkgraph;

TEST_CASE("conversation: the ChatML prompt of a two-turn chat with a system prompt", "[chat][conversation]") {
  const std::string path = testing::shared_file("models/tiny-bpe-vocab-q8_0.gguf");
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(path, *backend);
  const auto tmpl = chat::ChatTemplate::from_gguf(gguf::GgufFile::open(path));
  REQUIRE(tmpl.family() == chat::TemplateFamily::ChatML);

  models::Session session(*model, *backend);
  models::Conversation conversation(session, tmpl, "You are a helpful assistant.");
  models::SamplerParams greedy;
  greedy.temperature = 0;
  models::Sampler sampler(greedy);
  std::string first_reply;
  const auto first = conversation.reply("Hi there!", sampler, 6, [&](const std::string& s) { first_reply += s; });
  CHECK(first.reused_tokens == 0);
  const auto second = conversation.reply("What is 2+2?", sampler, 6, [](const std::string&) {});

  CHECK(conversation.prompt_text(true) ==
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHi there!<|im_end|>\n"
        "<|im_start|>assistant\n" +
            first_reply +
            "<|im_end|>\n"
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
            "<|im_start|>assistant\n" +
            conversation.messages().back().content +
            "<|im_end|>\n"
            "<|im_start|>assistant\n");
  REQUIRE(conversation.messages().size() == 4);
  // The second turn re-used at least the whole first prompt from the cache. (The reply's tokens
  // are reused too when re-tokenizing its text gives the same ids, which a random model's odd
  // token sequences need not.)
  CHECK(second.reused_tokens >= first.prompt_tokens);
}

TEST_CASE("conversation: save and load keep the messages and the system prompt", "[chat][conversation]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(testing::shared_file("models/stories260K.gguf"), *backend);
  models::Session session(*model, *backend);
  models::Conversation a(session, chat::ChatTemplate(chat::TemplateFamily::ChatML), "Be brief.");
  a.set_messages({{"user", "héllo \"quoted\""}, {"assistant", "line one\nline two"}});
  testing::TempDir dir;
  a.save(dir.file("c.json"));
  models::Conversation b(session, chat::ChatTemplate(chat::TemplateFamily::ChatML));
  b.load(dir.file("c.json"));
  CHECK(b.system_prompt() == "Be brief.");
  REQUIRE(b.messages().size() == 2);
  CHECK(b.messages()[0].content == "héllo \"quoted\"");
  CHECK(b.messages()[1].content == "line one\nline two");
  CHECK(session.n_past() == 0);
}
