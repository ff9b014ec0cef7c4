// Speculative decoding from the command line: `run --draft ngram` and `--draft-model` print the
// text plain decoding prints, `chat --draft` reports its counts, bad drafts are refused with a
// clear message, and `bench --draft` measures against plain decoding in the same run.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <nlohmann/json.hpp>

#include "models/bundled/default_model.h"
#include "run_command.h"
#include "shared_files.h"
#include "temp_dir.h"
#include "tmux_session.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("vkgraph run --draft prints the text of plain decoding", "[cli][speculative]") {
  const std::string base = "run -p \"Once upon a time\" -n 96 --temp 0 --ignore-eos -v ";
  for (const char* backend : {"vulkan", "cpu"}) {
    DYNAMIC_SECTION(backend) {
      const auto plain = testing::run_vkgraph(base + "--backend " + backend);
      REQUIRE(plain.exit_code == 0);
      const auto ngram = testing::run_vkgraph(base + "--draft ngram --backend " + backend);
      INFO(ngram.err);
      REQUIRE(ngram.exit_code == 0);
      CHECK(ngram.out == plain.out);
      CHECK_THAT(ngram.err, ContainsSubstring("speculative: n-gram lookup"));
      const auto self =
          testing::run_vkgraph(base + "--draft-max 5 --draft-model " +
                               testing::shell_quote(models::default_model_path()) + " --backend " + backend);
      INFO(self.err);
      REQUIRE(self.exit_code == 0);
      CHECK(self.out == plain.out);
      // 95 tokens after the first: 15 steps of 5 drafts + 1, then 4 + 1; every draft accepted.
      CHECK_THAT(self.err, ContainsSubstring("16 target steps, 79 of 79 drafted tokens accepted (100.0%)"));
    }
  }
}

TEST_CASE("vkgraph run refuses a draft model of another vocabulary and bad draft options", "[cli][speculative]") {
  const auto other = testing::run_vkgraph("run -p hi -n 4 --backend cpu --draft-model " +
                                          testing::shell_quote(testing::shared_file("models/tiny-gqa-f16.gguf")));
  CHECK(other.exit_code != 0);
  CHECK_THAT(other.err, ContainsSubstring("does not share the vocabulary of the target"));
  CHECK_THAT(other.err, ContainsSubstring("the target has 512 tokens, the draft 4096"));
  const auto kind = testing::run_vkgraph("run -p hi -n 4 --backend cpu --draft lookahead");
  CHECK(kind.exit_code != 0);
  CHECK_THAT(kind.err, ContainsSubstring("--draft must be ngram, model or none"));
  const auto missing = testing::run_vkgraph("run -p hi -n 4 --backend cpu --draft model");
  CHECK(missing.exit_code != 0);
  CHECK_THAT(missing.err, ContainsSubstring("--draft model needs --draft-model FILE"));
  const auto min = testing::run_vkgraph("run -p hi -n 4 --backend cpu --draft ngram --draft-max 2 --draft-min 3");
  CHECK(min.exit_code != 0);
  CHECK_THAT(min.err, ContainsSubstring("--draft-min 3 is more than --draft-max 2"));
}

TEST_CASE("vkgraph bench --draft compares with plain decoding in the same run", "[cli][speculative][bench]") {
  const auto r = testing::run_vkgraph("bench --backend cpu --draft ngram,self -n 24 -r 1 -o json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json rows = nlohmann::json::parse(r.out);
  REQUIRE(rows.size() == 2);
  for (const auto& row : rows) {
    CHECK(row.at("same_output") == true);
    CHECK(row.at("n_gen") == 24);
    CHECK(row.at("speedup_mean").get<double>() > 0.0);
    CHECK(row.at("plain_ts").get<double>() > 0.0);
    CHECK(row.at("speedup_samples").size() == 1);
  }
  CHECK(rows[0].at("draft") == "ngram");
  CHECK(rows[1].at("draft") == "self");
  CHECK(rows[1].at("acceptance_rate").get<double>() == 1.0);
  CHECK(rows[1].at("tokens_per_step").get<double>() > 5.0);  // 23 tokens in steps of up to 9
  const auto md = testing::run_vkgraph("bench --backend cpu --draft bogus -n 8");
  CHECK(md.exit_code != 0);
  CHECK_THAT(md.err, ContainsSubstring("'bogus' is not ngram, self, synth or a model file"));
}

TEST_CASE("chat --draft ngram reports the drafts in /stats", "[cli][chat][speculative]") {
  testing::TmuxSession tmux("vkgraph-chat-draft",
                            std::string(VKGRAPH_CLI_PATH) + " chat --temp 0 -n 32 -c 512 --draft ngram --backend cpu");
  REQUIRE(tmux.available());
  REQUIRE(tmux.wait_for_text("/help for commands", 120));
  tmux.send_line("Tell me a story about a cat.");
  REQUIRE(tmux.wait_for([](const std::string& s) { return testing::count_of(s, " t/s") >= 1; }, 120));
  tmux.send_line("/stats");
  REQUIRE(tmux.wait_for_text("tokens per target step", 30));
  CHECK(tmux.screen().find("speculative: ") != std::string::npos);
}
