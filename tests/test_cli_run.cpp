// `vkgraph run` as a user runs it: the default model's story matches llama.cpp's, the logits
// dump matches the reference, and bad input ends with a clear message and a non-zero exit.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "closeness_checks.h"
#include "engine/backend/registry.h"
#include "models/bundled/default_model.h"
#include "models/logits_dump.h"
#include "models/model.h"
#include "models/tokenizer/tokenizer.h"
#include "run_command.h"
#include "shared_files.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

// llama.cpp's greedy story for "Once upon a time" on stories260K, as text.
std::string reference_story() {
  const auto ref = models::read_logits_json(testing::shared_file("reference/logits/stories260K-1.json"));
  REQUIRE(ref.prompt == "Once upon a time");
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(models::default_model_path(), *backend);
  StreamingDecoder decoder(model->tokenizer(), false, false);
  std::string text;
  for (int32_t id : ref.greedy) text += decoder.push(id);
  return ref.prompt + text + decoder.finish();
}

}  // namespace

TEST_CASE("vkgraph run tells the same story as llama.cpp on the default model", "[cli][run]") {
  const std::string story = reference_story();
  for (const char* backend : {"vulkan", "cpu"}) {
    DYNAMIC_SECTION(backend) {
      const auto r =
          testing::run_vkgraph(std::string("run -p \"Once upon a time\" -n 64 --temp 0 --backend ") + backend);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(r.out == story + "\n");
    }
  }
}

TEST_CASE("vkgraph run reads the prompt from standard input without -p", "[cli][run]") {
  const auto r = testing::run_vkgraph("run -n 8 --temp 0 --backend cpu", "Once upon a time");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("Once upon a time", 0) == 0);
  CHECK(r.out.size() > std::string("Once upon a time\n").size());
}

TEST_CASE("vkgraph run --dump-logits writes the reference format within the bound", "[cli][run]") {
  const auto ref = models::read_logits_json(testing::shared_file("reference/logits/stories260K-1.json"));
  testing::TempDir dir;
  const std::string dump = dir.file("logits.json");
  const auto r =
      testing::run_vkgraph("run -p \"Once upon a time\" -n 0 --temp 0 --dump-logits " + testing::shell_quote(dump));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto ours = models::read_logits_json(dump);
  CHECK(ours.tokens == ref.tokens);
  // The Vulkan run of the default model (F32) against llama.cpp's CPU logits: the bound of
  // test_model_reference.cpp's stories260K prefill; here it checks the file's layout (a row
  // shifted by one position or a truncated row fails it by orders of magnitude).
  CHECK_CLOSE(testing::nmse_close(ours.logits, ref.logits, 1e-5));
}

TEST_CASE("vkgraph run without the ring refuses a prompt longer than the context", "[cli][run]") {
  const auto r =
      testing::run_vkgraph("run -c 4 --sinks 0 -p \"Once upon a time there was a little girl\" --backend cpu");
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, ContainsSubstring("the context holds 4"));
}

TEST_CASE("vkgraph run names a model file that does not exist", "[cli][run]") {
  const auto r = testing::run_vkgraph("run -m /nonexistent/model.gguf -p hi --backend cpu");
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, ContainsSubstring("/nonexistent/model.gguf"));
}

TEST_CASE("vkgraph run refuses invalid UTF-8 in the prompt", "[cli][run]") {
  const auto r = testing::run_vkgraph("run -n 4 --backend cpu", std::string("Once \xff\xfe upon"));
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, ContainsSubstring("UTF-8"));
}

// A ring that cannot keep a sliding window exact (tiny-gemma2: window 16; 20 slots with the
// default 4 sinks bring a sink inside it after an eviction): `run` uses the plain cache with a
// warning naming the context that keeps the ring, where an explicit --sinks is refused.
TEST_CASE("vkgraph run falls back to the plain cache when the default ring would break a window", "[cli][run]") {
  const std::string model = testing::shared_file("models/tiny-gemma2-f16.gguf");
  const auto fallback = testing::run_vkgraph("run -m " + model + " -c 20 -p Once -n 4 --backend cpu");
  INFO(fallback.err);
  CHECK(fallback.exit_code == 0);
  CHECK_THAT(fallback.err,
             ContainsSubstring("using the plain cache") && ContainsSubstring("-c 21 or more keeps the ring"));
  const auto refused = testing::run_vkgraph("run -m " + model + " -c 20 --sinks 4 -p Once -n 4 --backend cpu");
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, ContainsSubstring("a context of 21 or more"));
}
