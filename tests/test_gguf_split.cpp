// Split GGUF models (llama.cpp's gguf-split convention) load as one model from their first part,
// and every way a split can be broken is refused with a message naming the file.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <filesystem>

#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "gguf_split_support.h"
#include "models/gguf/gguf_split.h"
#include "models/model.h"
#include "models/session.h"
#include "models/tokenizer/tokenizer.h"
#include "shared_files.h"
#include "temp_dir.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

std::string open_error(const std::string& path) {
  try {
    gguf::open_split_model(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(opened without error)";
}

}  // namespace

TEST_CASE("Split file names", "[gguf][split]") {
  const auto name = gguf::parse_split_name("dir/Model-Q4_K_M-00002-of-00003.gguf");
  REQUIRE(name);
  CHECK(name->prefix == "dir/Model-Q4_K_M");
  CHECK(name->part == 2);
  CHECK(name->count == 3);
  CHECK(gguf::split_part_name(name->prefix, 3, 3) == "dir/Model-Q4_K_M-00003-of-00003.gguf");
  CHECK_FALSE(gguf::parse_split_name("Model-Q4_K_M.gguf"));
  CHECK_FALSE(gguf::parse_split_name("-00001-of-00002.gguf"));   // no prefix
  CHECK_FALSE(gguf::parse_split_name("m-00003-of-00002.gguf"));  // part past the count
  CHECK_FALSE(gguf::parse_split_name("m-00000-of-00002.gguf"));  // parts count from 1
  CHECK_FALSE(gguf::parse_split_name("m-0001-of-00002.gguf"));   // four digits
  CHECK_FALSE(gguf::parse_split_name("m-00001-of-00002.gguf.part"));
}

TEST_CASE("A split model opens as one file with every tensor of the original", "[gguf][split]") {
  testing::TempDir dir;
  const std::string original = testing::shared_file("models/stories260K.gguf");
  const gguf::GgufFile whole = gguf::GgufFile::open(original);
  for (int parts : {2, 3}) {
    DYNAMIC_SECTION(parts << " parts") {
      const auto paths = testing::write_split_model(original, dir.file("s" + std::to_string(parts)), parts);
      const gguf::GgufFile split = gguf::open_split_model(paths.front());
      CHECK(split.other_parts().size() == size_t(parts - 1));
      CHECK(split.architecture() == whole.architecture());
      CHECK(split.get_string_array("tokenizer.ggml.tokens") == whole.get_string_array("tokenizer.ggml.tokens"));
      REQUIRE(split.tensors().size() == whole.tensors().size());
      std::vector<uint32_t> parts_seen;
      for (const auto& t : whole.tensors()) {
        const gguf::TensorInfo* s = split.find_tensor(t.name);
        REQUIRE(s != nullptr);
        CHECK(s->shape == t.shape);
        CHECK(s->type == t.type);
        const auto a = whole.data(t), b = split.data(*s);
        CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
        parts_seen.push_back(s->part);
      }
      // The tensors really are spread: every part holds some.
      for (int p = 0; p < parts; ++p) CHECK(std::count(parts_seen.begin(), parts_seen.end(), uint32_t(p)) > 0);
    }
  }
}

TEST_CASE("A split model computes exactly what the whole file computes", "[gguf][split][model]") {
  testing::TempDir dir;
  const std::string original = testing::shared_file("models/stories260K.gguf");
  const auto paths = testing::write_split_model(original, dir.file("stories"), 2);
  auto backend = create_backend("cpu", "");
  const auto whole = models::Model::load(original, *backend);
  const auto split = models::Model::load(paths.front(), *backend);
  CHECK(split->parameter_count() == whole->parameter_count());
  const std::vector<int32_t> tokens = whole->tokenizer().encode("Once upon a time", true, false);
  REQUIRE(tokens == split->tokenizer().encode("Once upon a time", true, false));
  models::Session a(*whole, *backend), b(*split, *backend);
  // The same weights through the same CPU code: the same bits.
  CHECK(a.eval(tokens) == b.eval(tokens));
}

TEST_CASE("Broken split models are refused, naming the file", "[gguf][split]") {
  testing::TempDir dir;
  const std::string original = testing::shared_file("models/stories260K.gguf");

  SECTION("a missing part") {
    const auto paths = testing::write_split_model(original, dir.file("m"), 3);
    std::filesystem::remove(paths[2]);
    CHECK_THAT(open_error(paths[0]),
               ContainsSubstring("part 3 of 3") && ContainsSubstring(paths[2]) && ContainsSubstring("is missing"));
  }
  SECTION("a later part opened first") {
    const auto paths = testing::write_split_model(original, dir.file("m"), 2);
    CHECK_THAT(open_error(paths[1]), ContainsSubstring("part 2 of 2") && ContainsSubstring(paths[0]));
  }
  SECTION("a part that is not the part its name says") {
    const auto paths = testing::write_split_model(original, dir.file("m"), 3, [](int p, gguf::GgufWriter& w) {
      if (p == 2) w.set("split.no", gguf::Value(uint16_t(1)));
    });
    CHECK_THAT(open_error(paths[0]), ContainsSubstring(paths[2]) && ContainsSubstring("split.no 1 of split.count 3"));
  }
  SECTION("a tensor in two parts") {
    const auto paths = testing::write_split_model(original, dir.file("m"), 2, [](int p, gguf::GgufWriter& w) {
      if (p == 1) w.add_tensor("token_embd.weight", DType::F32, {4}, std::vector<std::byte>(16));
    });
    CHECK_THAT(open_error(paths[0]), ContainsSubstring("tensor 'token_embd.weight' is also in part 1"));
  }
  SECTION("fewer tensors than split.tensors.count") {
    const auto paths = testing::write_split_model(original, dir.file("m"), 2, [](int p, gguf::GgufWriter& w) {
      if (p == 0) w.set("split.tensors.count", gguf::Value(int32_t(1000)));
    });
    CHECK_THAT(open_error(paths[0]), ContainsSubstring("split.tensors.count is 1000"));
  }
  SECTION("a first part whose name hides the others") {
    const auto paths = testing::write_split_model(original, dir.file("m"), 2);
    const std::string renamed = dir.file("renamed.gguf");
    std::filesystem::rename(paths[0], renamed);
    CHECK_THAT(open_error(renamed), ContainsSubstring("-00001-of-00002.gguf") && ContainsSubstring(renamed));
  }
}
