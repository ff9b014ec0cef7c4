// `vkgraph chat` in a real terminal (tmux): a streamed reply, the commands, Ctrl-C and Ctrl-D.

#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <fstream>

#include "temp_dir.h"
#include "tmux_session.h"

using namespace vkgraph::testing;

namespace {

std::string chat_command(const std::string& args) { return std::string(VKGRAPH_CLI_PATH) + " chat " + args; }

// The text between the last line starting with "> " + message and the next reply stats line.
bool has_reply_after(const std::string& screen, const std::string& message) {
  const size_t at = screen.rfind("> " + message);
  if (at == std::string::npos) return false;
  const size_t reply = screen.find('\n', at);
  const size_t stats = screen.find(" tokens, ", reply);
  return stats != std::string::npos && stats > reply + 2;
}

}  // namespace

TEST_CASE("chat: a streamed reply then /stats /save /reset /load and Ctrl-D", "[cli][chat]") {
  TempDir dir;
  TmuxSession tmux("vkgraph-chat-commands", chat_command("--temp 0 -n 48 -c 512"));
  REQUIRE(tmux.available());
  REQUIRE(tmux.wait_for_text("/help for commands", 120));

  tmux.send_line("Tell me a story about a cat.");
  REQUIRE(tmux.wait_for([](const std::string& s) { return count_of(s, " t/s") >= 1; }, 120));
  CHECK(has_reply_after(tmux.screen(), "Tell me a story about a cat."));

  tmux.send_line("/stats");
  REQUIRE(tmux.wait_for_text("turns 1; context", 30));
  CHECK(tmux.screen().find("of 512 tokens") != std::string::npos);

  // A second turn evaluates only the new text: the cache keeps the first.
  tmux.send_line("And then?");
  REQUIRE(tmux.wait_for([](const std::string& s) { return count_of(s, " t/s") >= 3; }, 120));
  tmux.send_line("/stats");
  REQUIRE(tmux.wait_for_text("turns 2; context", 30));
  const std::string after_two = tmux.screen();
  const size_t last_turn = after_two.rfind("last turn: ");
  REQUIRE(last_turn != std::string::npos);
  CHECK(after_two.find("(0 reused", last_turn) == std::string::npos);

  const std::string saved = dir.file("conversation.json");
  tmux.send_line("/save " + saved);
  REQUIRE(tmux.wait_for_text("saved to " + saved, 30));
  CHECK(std::filesystem::file_size(saved) > 0);

  tmux.send_line("/reset");
  REQUIRE(tmux.wait_for_text("conversation reset", 30));
  tmux.send_line("/stats");
  REQUIRE(tmux.wait_for_text("context 0 of 512", 30));

  tmux.send_line("/load " + saved);
  REQUIRE(tmux.wait_for_text("loaded 4 messages", 30));

  tmux.send_line("/help");
  REQUIRE(tmux.wait_for_text("/system TEXT", 30));

  tmux.press("C-d");
  CHECK(tmux.wait_for_text("[exit 0]", 30));
}

TEST_CASE("chat: Ctrl-C stops a streaming reply and a second Ctrl-C exits cleanly", "[cli][chat]") {
  TmuxSession tmux("vkgraph-chat-interrupt",
                   chat_command("--temp 0 -n 100000 --ignore-eos -c 4096 --system \"You tell long stories.\""));
  REQUIRE(tmux.available());
  REQUIRE(tmux.wait_for_text("/help for commands", 120));
  tmux.send_line("Once upon a time");

  // The reply streams: the screen grows while it is being written.
  REQUIRE(tmux.wait_for([](const std::string& s) { return s.size() > s.find("> Once upon a time") + 60; }, 120));
  const size_t before = tmux.screen().size();
  REQUIRE(tmux.wait_for([before](const std::string& s) { return s.size() > before + 20; }, 60));

  tmux.press("C-c");
  REQUIRE(tmux.wait_for_text("(stopped)", 60));
  // Back at the prompt: commands still work.
  tmux.send_line("/stats");
  REQUIRE(tmux.wait_for_text("turns 1; context", 30));

  tmux.press("C-c");
  CHECK(tmux.wait_for_text("[exit 0]", 30));
}

TEST_CASE("chat: an empty line and invalid UTF-8 and a 100000-character paste are handled", "[cli][chat]") {
  TmuxSession tmux("vkgraph-chat-input", chat_command("--temp 0 -n 16 -c 256 --sinks 0 --backend cpu"));
  REQUIRE(tmux.available());
  REQUIRE(tmux.wait_for_text("/help for commands", 120));

  tmux.press("Enter");  // an empty line: nothing happens, the prompt comes back
  // The terminal and the line editor may drop bytes that are not UTF-8 before the program sees
  // them; either way the chat answers or names the problem, and goes on. (The piped test below
  // checks the program's own refusal of invalid UTF-8.)
  tmux.paste("caf\xc3 \xff\xfe broken");
  tmux.press("Enter");
  REQUIRE(tmux.wait_for(
      [](const std::string& s) { return count_of(s, " t/s") >= 1 || s.find("UTF-8") != std::string::npos; }, 60));

  tmux.paste(std::string(100000, 'a'));
  tmux.press("Enter");
  REQUIRE(tmux.wait_for_text("the context holds 256", 120));

  // Still alive and answering.
  tmux.send_line("Hello");
  REQUIRE(tmux.wait_for_text("> Hello", 60));
  REQUIRE(
      tmux.wait_for([](const std::string& s) { return s.find(" t/s", s.rfind("> Hello")) != std::string::npos; }, 60));
  tmux.press("C-d");
  CHECK(tmux.wait_for_text("[exit 0]", 30));
}

TEST_CASE("chat: piped input with bad lines ends cleanly", "[cli][chat]") {
  const std::string input = std::string("\n") + "bad \xff bytes\n" + std::string(100000, 'b') + "\nHello\n/stats\n";
  const auto r = run_vkgraph("chat --temp 0 -n 8 -c 256 --sinks 0 --backend cpu", input);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("UTF-8") != std::string::npos);
  CHECK(r.err.find("the context holds 256") != std::string::npos);
  CHECK(r.out.find("turns 1; context") != std::string::npos);
}
