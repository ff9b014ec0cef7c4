// Replays the inputs kept in tests/data/fuzz-regressions/<target>/ (crashes the fuzzers found,
// and hand-made hostile inputs) through the fuzz targets' own bodies (fuzz/*_body.h): each must
// neither crash nor violate a property. Runs in every build; the ASan build makes it strict.

#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/chat_fuzz_body.h"
#include "fuzz/gguf_fuzz_body.h"
#include "fuzz/jinja_fuzz_body.h"
#include "fuzz/serve_request_fuzz_body.h"
#include "fuzz/tokenizer_fuzz_body.h"
#include "models/gguf/gguf_reader.h"
#include "models/tokenizer/tokenizer.h"
#include "tests/shared_files.h"

namespace {

using namespace vkgraph;
namespace fs = std::filesystem;

struct Input {
  std::string name;
  std::vector<uint8_t> bytes;
};

std::vector<Input> inputs(const std::string& target) {
  const fs::path dir = fs::path(VKGRAPH_SOURCE_DIR) / "tests/data/fuzz-regressions" / target;
  std::vector<Input> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename().string().starts_with(".")) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    out.push_back({entry.path().filename().string(),
                   std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>())});
  }
  // The folders hold at least the hand-made inputs: an empty one means a broken checkout.
  REQUIRE(!out.empty());
  return out;
}

Tokenizer tokenizer_of(const std::string& model) {
  const gguf::GgufFile file = gguf::GgufFile::open(testing::shared_file("models/" + model));
  return Tokenizer::from_gguf(file);
}

}  // namespace

TEST_CASE("fuzz regressions: GGUF inputs open or are refused with an Error", "[fuzz][gguf]") {
  for (const Input& in : inputs("gguf")) {
    INFO(in.name);
    CHECK_NOTHROW(fuzz::gguf_fuzz_one(in.bytes.data(), in.bytes.size()));
  }
}

TEST_CASE("fuzz regressions: SentencePiece tokenizer inputs keep their properties", "[fuzz][tokenizer]") {
  const Tokenizer tok = tokenizer_of("stories260K.gguf");
  for (const Input& in : inputs("tokenizer_spm")) {
    INFO(in.name);
    CHECK_NOTHROW(fuzz::tokenizer_fuzz_one(tok, in.bytes.data(), in.bytes.size()));
  }
}

TEST_CASE("fuzz regressions: BPE tokenizer inputs keep their properties", "[fuzz][tokenizer]") {
  const Tokenizer tok = tokenizer_of("tiny-bpe-vocab-q8_0.gguf");
  for (const Input& in : inputs("tokenizer_bpe")) {
    INFO(in.name);
    CHECK_NOTHROW(fuzz::tokenizer_fuzz_one(tok, in.bytes.data(), in.bytes.size()));
  }
}

TEST_CASE("fuzz regressions: chat template inputs keep their properties", "[fuzz][chat]") {
  const Tokenizer tok = tokenizer_of("tiny-bpe-vocab-q8_0.gguf");
  for (const Input& in : inputs("chat_template")) {
    INFO(in.name);
    CHECK_NOTHROW(fuzz::chat_fuzz_one(tok, in.bytes.data(), in.bytes.size()));
  }
}

TEST_CASE("fuzz regressions: server request inputs keep their properties", "[fuzz][serve]") {
  const Tokenizer tok = tokenizer_of("tiny-bpe-vocab-q8_0.gguf");
  for (const Input& in : inputs("serve_request")) {
    INFO(in.name);
    CHECK_NOTHROW(fuzz::serve_request_fuzz_one(tok, in.bytes.data(), in.bytes.size()));
  }
}

TEST_CASE("fuzz regressions: Jinja inputs keep their properties", "[fuzz][jinja]") {
  for (const Input& in : inputs("jinja")) {
    INFO(in.name);
    CHECK_NOTHROW(fuzz::jinja_fuzz_one(in.bytes.data(), in.bytes.size()));
  }
}
