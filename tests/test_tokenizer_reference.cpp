// The tokenizers against llama.cpp: every line of ../shared/reference/tokenizer-*.jsonl, and the
// decode -> encode round trip on each.

#include <catch2/catch_test_macros.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "models/gguf/gguf_reader.h"
#include "models/tokenizer/tokenizer.h"
#include "tests/test_models_shared.h"

using namespace vkgraph;

namespace {

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Case> read_reference(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<Case> cases;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line);
    cases.push_back({j.at("text").get<std::string>(), j.at("ids").get<std::vector<int32_t>>()});
  }
  return cases;
}

void check_reference(const std::string& model, const std::string& reference, size_t expected_lines) {
  const gguf::GgufFile file = gguf::GgufFile::open(testing::shared_file(model));
  const Tokenizer tokenizer = Tokenizer::from_gguf(file);
  const std::vector<Case> cases = read_reference(testing::shared_file(reference));
  REQUIRE(cases.size() == expected_lines);
  for (const Case& c : cases) {
    INFO("text: " << c.text);
    CHECK(tokenizer.encode(c.text, false, true) == c.ids);
    const std::string decoded = tokenizer.decode(c.ids);
    CHECK(decoded == c.text);
    CHECK(tokenizer.encode(decoded, false, true) == c.ids);
  }
}

}  // namespace

TEST_CASE("SentencePiece tokenizer reproduces llama.cpp on stories260K", "[tokenizer]") {
  check_reference("models/stories260K.gguf", "reference/tokenizer-stories260K.jsonl", 20);
}

TEST_CASE("byte-level BPE tokenizer reproduces llama.cpp on SmolLM2's vocabulary", "[tokenizer]") {
  check_reference("models/tiny-bpe-vocab-q8_0.gguf", "reference/tokenizer-tiny-bpe-vocab.jsonl", 20);
}

TEST_CASE("byte-level BPE tokenizer reproduces llama.cpp on Llama 3's vocabulary (pre = llama-bpe)", "[tokenizer]") {
  check_reference("models/llama3-vocab-q8_0.gguf", "reference/tokenizer-llama3-vocab.jsonl", 20);
}

TEST_CASE("byte-level BPE tokenizer reproduces llama.cpp on Qwen3's vocabulary (pre = qwen2)", "[tokenizer]") {
  check_reference("models/qwen3-vocab-q8_0.gguf", "reference/tokenizer-qwen3-vocab.jsonl", 20);
}

TEST_CASE("Llama 3 and Qwen3 vocabularies give llama.cpp's ids on 400 more texts", "[tokenizer]") {
  // tests/data/tokenizer-llamacpp.jsonl (tests/data/gen_tokenizer_llamacpp.sh): mixtures of many
  // scripts, digit runs, contractions in both cases, whitespace runs and special tokens' texts,
  // "</s>" among them, which llama.cpp reads as Qwen3's control token 128247 although the file
  // calls it an ordinary token.
  std::ifstream in(std::string(VKGRAPH_SOURCE_DIR) + "/tests/data/tokenizer-llamacpp.jsonl");
  REQUIRE(in.good());
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  REQUIRE(lines.size() == 400);
  for (const char* vocab : {"llama3", "qwen3"}) {
    const gguf::GgufFile file =
        gguf::GgufFile::open(testing::shared_file(std::string("models/") + vocab + "-vocab-q8_0.gguf"));
    const Tokenizer tokenizer = Tokenizer::from_gguf(file);
    size_t equal = 0;
    for (const nlohmann::json& j : lines) {
      const std::string text = j.at("text").get<std::string>();
      const std::vector<int32_t> expected = j.at(vocab).get<std::vector<int32_t>>();
      const std::vector<int32_t> ids = tokenizer.encode(text, false, true);
      INFO(vocab << ": " << text);
      CHECK(ids == expected);
      CHECK(tokenizer.decode(ids) == text);
      equal += ids == expected ? 1 : 0;
    }
    CHECK(equal == lines.size());
  }
  const gguf::GgufFile qwen = gguf::GgufFile::open(testing::shared_file("models/qwen3-vocab-q8_0.gguf"));
  const Tokenizer q = Tokenizer::from_gguf(qwen);
  CHECK(q.encode("</s>", false, true) == std::vector<int32_t>{128247});
  CHECK(q.is_eog(128247));
}

TEST_CASE("a prompt gets BOS where llama.cpp adds it: Llama 3 yes, Qwen3 and SmolLM2 no", "[tokenizer]") {
  // llama.cpp's prompt ids for its reference logits (BOS first when the vocabulary asks for one;
  // neither file sets tokenizer.ggml.add_bos_token, so the default of each pre-tokenizer decides).
  for (const char* name : {"llama3-vocab-q8_0", "qwen3-vocab-q8_0"}) {
    INFO(name);
    std::ifstream in(testing::shared_file(std::string("reference/logits/") + name + ".json"));
    const nlohmann::json reference = nlohmann::json::parse(in);
    REQUIRE(reference.at("add_bos").get<bool>());
    const gguf::GgufFile file = gguf::GgufFile::open(testing::shared_file(std::string("models/") + name + ".gguf"));
    const Tokenizer t = Tokenizer::from_gguf(file);
    CHECK(t.encode(reference.at("prompt").get<std::string>(), t.add_bos(), true) ==
          reference.at("tokens").get<std::vector<int32_t>>());
  }
  const gguf::GgufFile smollm = gguf::GgufFile::open(testing::shared_file("models/tiny-bpe-vocab-q8_0.gguf"));
  CHECK_FALSE(Tokenizer::from_gguf(smollm).add_bos());
}

TEST_CASE("tokenizer metadata of the reference models", "[tokenizer]") {
  {
    const gguf::GgufFile file = gguf::GgufFile::open(testing::shared_file("models/stories260K.gguf"));
    const Tokenizer t = Tokenizer::from_gguf(file);
    CHECK(t.kind() == TokenizerKind::Spm);
    CHECK(t.vocab_size() == 512);
    CHECK(t.bos() == 1);
    CHECK(t.eos() == 2);
    CHECK(t.add_bos());
    CHECK(t.is_eog(2));
    CHECK_FALSE(t.is_eog(1));
    CHECK(t.encode("Hello world", true, true).front() == 1);
  }
  {
    const gguf::GgufFile file = gguf::GgufFile::open(testing::shared_file("models/tiny-bpe-vocab-q8_0.gguf"));
    const Tokenizer t = Tokenizer::from_gguf(file);
    CHECK(t.kind() == TokenizerKind::Bpe);
    CHECK(t.pre_name() == "smollm");
    CHECK(t.vocab_size() == 49152);
    const std::optional<int32_t> im_end = t.find_token("<|im_end|>");
    REQUIRE(im_end);
    CHECK(t.is_eog(*im_end));
    CHECK(t.token_type(*im_end) == TokenType::Control);
    // Without parse_special the marker is ordinary text and splits into several tokens.
    CHECK(t.encode("<|im_end|>", false, true) == std::vector<int32_t>{*im_end});
    CHECK(t.encode("<|im_end|>", false, false).size() > 1);
  }
}
