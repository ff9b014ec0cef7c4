// A chat that outgrows its context keeps answering through the KV ring, reusing the cache for
// each new turn; in the library and in a real terminal.

#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "models/bundled/default_model.h"
#include "models/chat/chat_template.h"
#include "models/conversation.h"
#include "models/model.h"
#include "tests/ring_support.h"
#include "tests/tmux_session.h"

using namespace vkgraph;

TEST_CASE("conversation: past the context the ring keeps answering and reuses the cache",
          "[ring][chat][conversation]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  models::Session session(*model, *backend, test::ring_options(64, 4));
  models::Conversation conversation(session, chat::ChatTemplate(chat::TemplateFamily::ChatML), "Tell stories.");
  conversation.set_ignore_eos(true);
  models::SamplerParams greedy;
  greedy.temperature = 0;
  models::Sampler sampler(greedy);

  const char* messages[] = {"Tell me about a cat.", "And a dog?", "What did they do?", "Where?", "Then what?"};
  int64_t turns_after_eviction = 0;
  for (const char* message : messages) {
    const bool evicted_before = session.evicted() > 0;
    std::string reply;
    const models::TurnStats stats = conversation.reply(message, sampler, 30, [&](const std::string& s) { reply += s; });
    INFO("turn '" << message << "': reused " << stats.reused_tokens << ", new " << stats.prompt_tokens);
    CHECK(stats.generated_tokens == 30);
    CHECK_FALSE(reply.empty());
    CHECK(conversation.context_used() <= 64);
    if (evicted_before) {
      // Only the new text runs: everything from the previous turns stays in the ring.
      CHECK(stats.reused_tokens > 64);
      CHECK(stats.prompt_tokens < stats.reused_tokens);
      turns_after_eviction++;
    }
  }
  CHECK(turns_after_eviction >= 3);
  CHECK(session.n_past() > 3 * 64);
  CHECK(conversation.context_used() == 64);

  // Changing an early message diverges where the ring no longer holds the text: the turn runs
  // the whole conversation again, through the ring, and answers.
  std::vector<chat::Message> edited = conversation.messages();
  edited[0].content = "Tell me about a bird.";
  conversation.set_messages(edited);
  const models::TurnStats stats = conversation.reply("Go on.", sampler, 30, [](const std::string&) {});
  CHECK(stats.reused_tokens == 0);
  CHECK(stats.prompt_tokens > 3 * 64);
  CHECK(stats.generated_tokens == 30);
  CHECK(conversation.context_used() == 64);
}

TEST_CASE("chat: past the context the ring keeps answering", "[ring][cli][chat]") {
  using testing::count_of;
  testing::TmuxSession tmux("vkgraph-chat-ring", std::string(VKGRAPH_CLI_PATH) +
                                                     " chat --temp 0 -n 40 --ignore-eos -c 64 --sinks 4 --backend cpu");
  REQUIRE(tmux.available());
  REQUIRE(tmux.wait_for_text("/help for commands", 120));
  CHECK(tmux.screen().find("context 64 tokens (ring, 4 sinks)") != std::string::npos);
  const char* messages[] = {"Tell me a story.", "What happened next?", "And then?", "How did it end?"};
  int turn = 0;
  for (const char* message : messages) {
    tmux.send_line(message);
    ++turn;
    // Each reply ends with its stats line: 40 tokens, every turn, also once the ring has wrapped.
    REQUIRE(tmux.wait_for([&](const std::string& s) { return count_of(s, "40 tokens, ") >= size_t(turn); }, 120));
  }
  CHECK(tmux.screen().find("error") == std::string::npos);
  tmux.send_line("/stats");
  REQUIRE(tmux.wait_for_text("KV ring: ", 30));
  const std::string screen = tmux.screen();
  CHECK(screen.find("context 64 of 64 tokens") != std::string::npos);
  CHECK(screen.find(" 0 evicted") == std::string::npos);
  tmux.press("C-d");
  CHECK(tmux.wait_for_text("[exit 0]", 30));
}
