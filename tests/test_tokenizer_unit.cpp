// Tokenizer pieces in isolation: the pre-tokenizer splits, UTF-8 handling, the streaming decoder
// and special-token parsing.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_writer.h"
#include "models/tokenizer/pretokenizer.h"
#include "models/tokenizer/tokenizer.h"
#include "models/tokenizer/unicode.h"
#include "tests/test_models_shared.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;
using Words = std::vector<std::string_view>;

TEST_CASE("pre-tokenizer splits follow each model's pattern", "[tokenizer]") {
  // GPT-2: a space joins the word after it; a whitespace run leaves its last space to that word.
  CHECK(pre_tokenize(PreTokenizer::Gpt2, "Hello  world's 123!!") == Words{"Hello", " ", " world", "'s", " 123", "!!"});
  CHECK(pre_tokenize(PreTokenizer::Gpt2, "a\n\nb  ") == Words{"a", "\n", "\n", "b", "  "});
  // SmolLM: digits one by one first.
  CHECK(pre_tokenize(PreTokenizer::Smollm, "x 1234 y") == Words{"x", " ", "1", "2", "3", "4", " y"});
  // Llama 3: up to three digits, case-insensitive contractions, punctuation takes trailing newlines.
  CHECK(pre_tokenize(PreTokenizer::Llama3, "12345 I'M ok.\n\nNext") ==
        Words{"123", "45", " I", "'M", " ok", ".\n\n", "Next"});
  CHECK(pre_tokenize(PreTokenizer::Llama3, "a \n b") == Words{"a", " \n", " b"});
  // Qwen2: single digits.
  CHECK(pre_tokenize(PreTokenizer::Qwen2, "x=123") == Words{"x", "=", "1", "2", "3"});
  // Letters and numbers beyond ASCII.
  CHECK(pre_tokenize(PreTokenizer::Gpt2, "\xC3\xA9t\xC3\xA9 \xD9\xA3") == Words{"\xC3\xA9t\xC3\xA9", " \xD9\xA3"});
  CHECK(pre_tokenizer_from_name("llama-bpe") == PreTokenizer::Llama3);
  CHECK(pre_tokenizer_from_name("qwen2") == PreTokenizer::Qwen2);
  CHECK(pre_tokenizer_from_name("smollm") == PreTokenizer::Smollm);
  CHECK_FALSE(pre_tokenizer_from_name("no-such-pre"));
}

TEST_CASE("pre-tokenizer splits equal the regular expressions' on 220 texts", "[tokenizer]") {
  // tests/data/pretokenizer-splits.json holds what the patterns (run by Python's `regex`
  // module, see gen_pretokenizer_splits.py there) make of the reference texts and random strings.
  const std::string path = std::string(VKGRAPH_SOURCE_DIR) + "/tests/data/pretokenizer-splits.json";
  std::ifstream in(path);
  REQUIRE(in.good());
  const nlohmann::json cases = nlohmann::json::parse(in);
  REQUIRE(cases.size() == 220);
  for (const auto& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    for (const auto& [name, kind] : {std::pair{"gpt2", PreTokenizer::Gpt2},
                                     {"smollm", PreTokenizer::Smollm},
                                     {"llama3", PreTokenizer::Llama3},
                                     {"qwen2", PreTokenizer::Qwen2}}) {
      INFO(name << ": " << c.at("text").dump());
      std::vector<std::string> got;
      for (std::string_view w : pre_tokenize(kind, text)) got.emplace_back(w);
      CHECK(got == c.at(name).get<std::vector<std::string>>());
    }
  }
}

TEST_CASE("unicode categories and UTF-8 validation", "[tokenizer]") {
  CHECK(unicode::is_letter(U'\u00e9'));
  CHECK(unicode::is_letter(U'\u4e16'));
  CHECK(unicode::is_number(U'\u0663'));  // Arabic-Indic three
  CHECK_FALSE(unicode::is_letter(U'\u2764'));
  CHECK(unicode::is_whitespace(0x3000));
  CHECK_FALSE(unicode::is_whitespace(0x200b));  // zero width space is not White_Space
  CHECK(unicode::utf8_first_invalid("ok \xE2\x82\xAC") == std::string_view::npos);
  CHECK(unicode::utf8_first_invalid("a\xC0\xAF") == 1);         // overlong
  CHECK(unicode::utf8_first_invalid("ab\xED\xA0\x80") == 2);    // surrogate
  CHECK(unicode::utf8_first_invalid("abc\xE2\x82") == 3);       // truncated
  CHECK(unicode::utf8_first_invalid("\xF4\x90\x80\x80") == 0);  // beyond U+10FFFF
  for (int b = 0; b < 256; ++b) CHECK(unicode::codepoint_to_byte(unicode::byte_to_codepoint(uint8_t(b))) == b);
  CHECK(unicode::byte_to_codepoint(' ') == 0x120);  // "Ġ"
}

TEST_CASE("utf8_take_complete holds back split characters and replaces invalid bytes", "[tokenizer]") {
  std::string pending;
  CHECK(utf8_take_complete(pending, "a\xE2") == "a");
  CHECK(pending == "\xE2");
  CHECK(utf8_take_complete(pending, "\x82") == "");
  CHECK(utf8_take_complete(pending, "\xAC!") == "\xE2\x82\xAC!");
  CHECK(pending.empty());
  CHECK(utf8_take_complete(pending, "\xFFx") == "\xEF\xBF\xBDx");
  CHECK(utf8_take_complete(pending, "\xE2\x82y") == "\xEF\xBF\xBD\xEF\xBF\xBDy");
}

TEST_CASE("streaming decoder emits whole characters from byte tokens", "[tokenizer]") {
  const gguf::GgufFile file = gguf::GgufFile::open(testing::shared_file("models/stories260K.gguf"));
  const Tokenizer t = Tokenizer::from_gguf(file);
  // "日" is not in this 512-token vocabulary: after the prefix space come three byte tokens.
  const std::vector<int32_t> ids = t.encode("\xE6\x97\xA5!", false, false);
  REQUIRE(ids.size() >= 5);
  CHECK(t.token_to_piece(ids[0]) == " ");
  for (size_t i = 1; i <= 3; ++i) CHECK(t.token_type(ids[i]) == TokenType::Byte);
  StreamingDecoder decoder(t, true);
  std::vector<std::string> outputs;
  for (int32_t id : ids) outputs.push_back(decoder.push(id));
  CHECK(outputs[0].empty());  // the prefix space, stripped
  CHECK(outputs[1].empty());  // 0xE6: held back
  CHECK(outputs[2].empty());  // 0x97: held back
  CHECK(outputs[3] == "\xE6\x97\xA5");
  std::string joined;
  for (const std::string& o : outputs) joined += o;
  CHECK(joined == "\xE6\x97\xA5!");
  CHECK(decoder.finish().empty());
  // A stream cut inside a character ends with U+FFFD.
  StreamingDecoder cut(t);
  CHECK(cut.push(ids[1]).empty());
  CHECK(cut.finish() == "\xEF\xBF\xBD");
}

TEST_CASE("tokenizer refuses invalid UTF-8 and handles edge inputs", "[tokenizer]") {
  const gguf::GgufFile file = gguf::GgufFile::open(testing::shared_file("models/tiny-bpe-vocab-q8_0.gguf"));
  const Tokenizer t = Tokenizer::from_gguf(file);
  try {
    t.encode("ok\xFFno", false, true);
    FAIL("invalid UTF-8 was accepted");
  } catch (const Error& e) {
    CHECK_THAT(std::string(e.what()), ContainsSubstring("not valid UTF-8") && ContainsSubstring("offset 2"));
  }
  CHECK(t.encode("", false, true).empty());
  const std::optional<int32_t> im_start = t.find_token("<|im_start|>");
  REQUIRE(im_start);
  const std::vector<int32_t> ids = t.encode("<|im_start|><|im_start|>x", false, true);
  REQUIRE(ids.size() == 3);
  CHECK(ids[0] == *im_start);
  CHECK(ids[1] == *im_start);
  CHECK(t.token_to_piece(*im_start) == "<|im_start|>");
  CHECK(t.token_to_piece(*im_start, false).empty());
  CHECK_THROWS_AS(t.token_text(int32_t(t.vocab_size())), Error);
}

TEST_CASE("tokenizer metadata defects are refused naming the key", "[tokenizer]") {
  const testing::ScratchDir dir("tokenizer-metadata");
  const auto error_for = [&](const std::function<void(gguf::GgufWriter&)>& edit) -> std::string {
    gguf::GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "qwen2");
    w.set_array("tokenizer.ggml.tokens", std::vector<std::string>{"a", "b", "ab"});
    w.set_array("tokenizer.ggml.token_type", std::vector<int32_t>{1, 1, 1});
    w.set_array("tokenizer.ggml.merges", std::vector<std::string>{"a b"});
    edit(w);
    const std::string path = (dir / "t.gguf").string();
    w.write(path);
    const gguf::GgufFile file = gguf::GgufFile::open(path);
    try {
      const Tokenizer t = Tokenizer::from_gguf(file);
      CHECK(t.encode("ab", false, false) == std::vector<int32_t>{2});
      return "";
    } catch (const Error& e) {
      CHECK_THAT(std::string(e.what()), ContainsSubstring(path));
      return e.what();
    }
  };
  CHECK(error_for([](gguf::GgufWriter&) {}).empty());  // the base is valid
  CHECK_THAT(error_for([](auto& w) { w.set_string("tokenizer.ggml.model", "bert"); }),
             ContainsSubstring("tokenizer model 'bert' is not supported"));
  CHECK_THAT(error_for([](auto& w) { w.set_string("tokenizer.ggml.pre", "klingon"); }),
             ContainsSubstring("pre-tokenizer 'klingon'"));
  CHECK_THAT(error_for([](auto& w) {
               w.set_array("tokenizer.ggml.token_type", std::vector<int32_t>{1, 1});
             }),
             ContainsSubstring("'tokenizer.ggml.token_type' has 2 entries, but there are 3 tokens"));
  CHECK_THAT(error_for([](auto& w) {
               w.set_array("tokenizer.ggml.token_type", std::vector<int32_t>{1, 9, 1});
             }),
             ContainsSubstring("'tokenizer.ggml.token_type' entry 1 is 9"));
  CHECK_THAT(error_for([](auto& w) { w.set_array("tokenizer.ggml.scores", std::vector<float>{0.f}); }),
             ContainsSubstring("'tokenizer.ggml.scores' has 1 entries"));
  CHECK_THAT(error_for([](auto& w) { w.set_array("tokenizer.ggml.merges", std::vector<std::string>{"ab"}); }),
             ContainsSubstring("'tokenizer.ggml.merges' entry 0 ('ab')"));
  CHECK_THAT(error_for([](auto& w) { w.set_u32("tokenizer.ggml.bos_token_id", 3); }),
             ContainsSubstring("'tokenizer.ggml.bos_token_id' is 3, but the vocabulary has 3 tokens"));
  CHECK_THAT(error_for([](auto& w) { w.set_array("tokenizer.ggml.tokens", std::vector<std::string>{}); }),
             ContainsSubstring("'tokenizer.ggml.tokens' is empty"));
  CHECK_THAT(error_for([](auto& w) { w.set_u32("tokenizer.ggml.tokens", 1); }),
             ContainsSubstring("'tokenizer.ggml.tokens' is u32, expected an array"));
}
