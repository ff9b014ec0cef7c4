// GGUF writer -> reader round trips, typed metadata access, and the reference models' headers.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstring>
#include <functional>
#include <vector>

#include "engine/core/error.h"
#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_writer.h"
#include "tests/test_models_shared.h"

using namespace vkgraph;
using namespace vkgraph::gguf;
using Catch::Matchers::ContainsSubstring;

namespace {

std::vector<std::byte> pattern_bytes(size_t n, uint32_t seed) {
  std::vector<std::byte> out(n);
  uint32_t x = seed;
  for (auto& b : out) {
    x = x * 1664525u + 1013904223u;
    b = std::byte(x >> 24);
  }
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("expected a vkgraph::Error");
  return {};
}

// One metadata entry of every value type and every array element type.
void add_all_types(GgufWriter& w) {
  w.set("general.architecture", Value(std::string("llama")));
  w.set("t.u8", Value(uint8_t(200)));
  w.set("t.i8", Value(int8_t(-100)));
  w.set("t.u16", Value(uint16_t(60000)));
  w.set("t.i16", Value(int16_t(-30000)));
  w.set("t.u32", Value(uint32_t(4000000000u)));
  w.set("t.i32", Value(int32_t(-2000000000)));
  w.set("t.f32", Value(1.5f));
  w.set("t.bool", Value(true));
  w.set("t.string", Value(std::string("h\xC3\xA9llo\n")));
  w.set("t.u64", Value(uint64_t(1) << 40));
  w.set("t.i64", Value(int64_t(-1) << 40));
  w.set("t.f64", Value(2.25));
  w.set_array("a.u8", std::vector<uint8_t>{1, 2, 255});
  w.set_array("a.i8", std::vector<int8_t>{-1, 0, 1});
  w.set_array("a.u16", std::vector<uint16_t>{7, 65535});
  w.set_array("a.i16", std::vector<int16_t>{-7, 32767});
  w.set_array("a.u32", std::vector<uint32_t>{3, 4000000000u});
  w.set_array("a.i32", std::vector<int32_t>{-3, 1, 6});
  w.set_array("a.f32", std::vector<float>{0.5f, -1.0f});
  w.set_array("a.bool", std::vector<bool>{true, false, true});
  w.set_array("a.string", std::vector<std::string>{"a", "", "<|im_start|>"});
  w.set_array("a.u64", std::vector<uint64_t>{uint64_t(1) << 63});
  w.set_array("a.i64", std::vector<int64_t>{-5});
  w.set_array("a.f64", std::vector<double>{3.125});
  w.set_array("a.empty", std::vector<int32_t>{});
}

}  // namespace

TEST_CASE("GGUF writer output reads back with identical metadata and tensor bytes", "[gguf]") {
  const testing::ScratchDir dir("gguf-roundtrip");
  for (uint32_t alignment : {32u, 64u, 4u}) {
    INFO("alignment " << alignment);
    GgufWriter w(alignment);
    add_all_types(w);
    const std::vector<std::byte> f32 = pattern_bytes(3 * 64 * 4, 1);
    const std::vector<std::byte> f16 = pattern_bytes(5 * 2, 2);
    const std::vector<std::byte> q8 = pattern_bytes(2 * 2 * 34, 3);
    const std::vector<std::byte> q4 = pattern_bytes(4 * 3 * 2 * 18, 4);
    w.add_tensor("w.f32", DType::F32, {3, 64}, f32);
    w.add_tensor("w.f16", DType::F16, {5}, f16);
    w.add_tensor("w.q8_0", DType::Q8_0, {2, 64}, q8);
    w.add_tensor("w.q4_0", DType::Q4_0, {4, 3, 64}, [&](std::span<std::byte> out) {
      REQUIRE(out.size() == q4.size());
      std::memcpy(out.data(), q4.data(), q4.size());
    });
    const std::string path = (dir / "all.gguf").string();
    w.write(path);

    const GgufFile f = GgufFile::open(path);
    CHECK(f.version() == 3);
    CHECK(f.alignment() == alignment);
    // The writer records a non-default alignment as the first key; the rest come in order.
    const auto& meta = f.metadata();
    const size_t first = alignment == 32 ? 0 : 1;
    if (first) {
      CHECK(meta[0].key == "general.alignment");
      CHECK(std::get<uint32_t>(meta[0].value) == alignment);
    }
    REQUIRE(meta.size() == 26 + first);
    CHECK(meta[first].key == "general.architecture");
    CHECK(std::get<uint8_t>(*f.find("t.u8")) == 200);
    CHECK(*f.find("t.i8") == Value(int8_t(-100)));
    CHECK(*f.find("t.u16") == Value(uint16_t(60000)));
    CHECK(*f.find("t.i16") == Value(int16_t(-30000)));
    CHECK(*f.find("t.u32") == Value(uint32_t(4000000000u)));
    CHECK(*f.find("t.i32") == Value(int32_t(-2000000000)));
    CHECK(*f.find("t.f32") == Value(1.5f));
    CHECK(*f.find("t.bool") == Value(true));
    CHECK(*f.find("t.string") == Value(std::string("h\xC3\xA9llo\n")));
    CHECK(*f.find("t.u64") == Value(uint64_t(1) << 40));
    CHECK(*f.find("t.i64") == Value(int64_t(-1) << 40));
    CHECK(*f.find("t.f64") == Value(2.25));
    CHECK(f.get_array("a.u8").elements == ArrayElements(std::vector<uint8_t>{1, 2, 255}));
    CHECK(f.get_array("a.i8").elements == ArrayElements(std::vector<int8_t>{-1, 0, 1}));
    CHECK(f.get_array("a.u16").elements == ArrayElements(std::vector<uint16_t>{7, 65535}));
    CHECK(f.get_array("a.i16").elements == ArrayElements(std::vector<int16_t>{-7, 32767}));
    CHECK(f.get_array("a.u32").elements == ArrayElements(std::vector<uint32_t>{3, 4000000000u}));
    CHECK(f.get_array("a.i32").elements == ArrayElements(std::vector<int32_t>{-3, 1, 6}));
    CHECK(f.get_array("a.f32").elements == ArrayElements(std::vector<float>{0.5f, -1.0f}));
    CHECK(f.get_array("a.bool").elements == ArrayElements(std::vector<bool>{true, false, true}));
    CHECK(f.get_string_array("a.string") == std::vector<std::string>{"a", "", "<|im_start|>"});
    CHECK(f.get_array("a.u64").elements == ArrayElements(std::vector<uint64_t>{uint64_t(1) << 63}));
    CHECK(f.get_array("a.i64").elements == ArrayElements(std::vector<int64_t>{-5}));
    CHECK(f.get_array("a.f64").elements == ArrayElements(std::vector<double>{3.125}));
    CHECK(f.get_array("a.empty").size() == 0);

    REQUIRE(f.tensors().size() == 4);
    const struct {
      const char* name;
      DType type;
      std::vector<int64_t> shape;
      const std::vector<std::byte>* bytes;
    } want[] = {{"w.f32", DType::F32, {3, 64}, &f32},
                {"w.f16", DType::F16, {5}, &f16},
                {"w.q8_0", DType::Q8_0, {2, 64}, &q8},
                {"w.q4_0", DType::Q4_0, {4, 3, 64}, &q4}};
    for (const auto& w_t : want) {
      const TensorInfo& t = f.tensor(w_t.name);
      CHECK(t.type == w_t.type);
      CHECK(t.shape == w_t.shape);
      CHECK(t.offset % alignment == 0);
      const std::span<const std::byte> data = f.data(t);
      REQUIRE(data.size() == w_t.bytes->size());
      CHECK(std::memcmp(data.data(), w_t.bytes->data(), data.size()) == 0);
    }
  }
}

TEST_CASE("GGUF typed accessors convert what fits and name key and types otherwise", "[gguf]") {
  const testing::ScratchDir dir("gguf-accessors");
  GgufWriter w;
  add_all_types(w);
  const std::string path = (dir / "m.gguf").string();
  w.write(path);
  const GgufFile f = GgufFile::open(path);

  CHECK(f.architecture() == "llama");
  CHECK(f.get_u32("t.u8") == 200);
  CHECK(f.get_u32("t.u16") == 60000);
  CHECK(f.get_u64("t.u64") == uint64_t(1) << 40);
  CHECK(f.get_i32("t.i16") == -30000);
  CHECK(f.get_f32("t.f64") == 2.25f);
  CHECK(f.get_bool("t.bool"));
  CHECK(f.get_string("t.string") == "h\xC3\xA9llo\n");
  CHECK(f.get_i32_array("a.u8") == std::vector<int32_t>{1, 2, 255});
  CHECK(f.get_f32_array("a.f32") == std::vector<float>{0.5f, -1.0f});
  CHECK_FALSE(f.find_u32("no.such.key"));
  CHECK(f.find_u32("t.u32") == 4000000000u);
  CHECK_FALSE(f.find_string("no.such.key"));

  std::string e = error_of([&] { f.get_u32("t.u64"); });
  CHECK_THAT(e, ContainsSubstring(path) && ContainsSubstring("'t.u64'") && ContainsSubstring("does not fit in u32"));
  e = error_of([&] { f.get_u32("t.i8"); });
  CHECK_THAT(e, ContainsSubstring("'t.i8'") && ContainsSubstring("u32"));
  e = error_of([&] { f.get_u32("t.string"); });
  CHECK_THAT(e, ContainsSubstring("metadata 't.string' is string, expected u32"));
  e = error_of([&] { f.get_u32("llama.block_count"); });
  CHECK_THAT(e, ContainsSubstring(path) && ContainsSubstring("'llama.block_count'") && ContainsSubstring("missing"));
  e = error_of([&] { f.get_string("t.u32"); });
  CHECK_THAT(e, ContainsSubstring("'t.u32' is u32, expected string"));
  e = error_of([&] { f.find_bool("t.f32"); });
  CHECK_THAT(e, ContainsSubstring("'t.f32' is f32, expected bool"));
  e = error_of([&] { f.get_string_array("a.i32"); });
  CHECK_THAT(e, ContainsSubstring("'a.i32' is array of i32, expected array of string"));
  e = error_of([&] { f.get_i32_array("a.u32"); });
  CHECK_THAT(e, ContainsSubstring("'a.u32' element 1"));
  e = error_of([&] { f.get_f32_array("a.string"); });
  CHECK_THAT(e, ContainsSubstring("'a.string' is array of string, expected array of f32"));
  e = error_of([&] { f.tensor("blk.0.attn_q.weight"); });
  CHECK_THAT(e, ContainsSubstring(path) && ContainsSubstring("tensor 'blk.0.attn_q.weight' is missing"));
}

TEST_CASE("GGUF writer refuses what it cannot write", "[gguf]") {
  CHECK_THAT(error_of([] { GgufWriter w(48); }), ContainsSubstring("alignment 48 is not a power of two"));
  CHECK_THAT(error_of([] { GgufWriter w(2); }), ContainsSubstring("alignment 2 is below 4 bytes"));
  GgufWriter w;
  CHECK_THAT(error_of([&] {
               w.add_tensor("x", DType::Q8_0, {2, 33}, std::vector<std::byte>(100));
             }),
             ContainsSubstring("not a multiple of 32"));
  CHECK_THAT(error_of([&] {
               w.add_tensor("x", DType::F32, {2, 3}, std::vector<std::byte>(20));
             }),
             ContainsSubstring("needs 24 bytes, given 20"));
  CHECK_THAT(error_of([&] {
               w.add_tensor("x", DType::F32, {1, 1, 1, 1, 1}, std::vector<std::byte>(4));
             }),
             ContainsSubstring("5 dimensions"));
  w.add_tensor("x", DType::F32, {2}, std::vector<std::byte>(8));
  CHECK_THAT(error_of([&] { w.add_tensor("x", DType::F32, {2}, std::vector<std::byte>(8)); }),
             ContainsSubstring("'x' added twice"));
  CHECK_THAT(error_of([&] { w.write("/nonexistent-dir/x.gguf"); }), ContainsSubstring("/nonexistent-dir/x.gguf"));
}

TEST_CASE("GGUF reader opens the reference models", "[gguf]") {
  const std::string path = testing::shared_file("models/stories260K.gguf");
  const GgufFile f = GgufFile::open(path);
  CHECK(f.architecture() == "llama");
  CHECK(f.get_u32("llama.block_count") == 5);
  CHECK(f.get_u32("llama.embedding_length") == 64);
  CHECK(f.get_string_array("tokenizer.ggml.tokens").size() == 512);
  const TensorInfo& embd = f.tensor("token_embd.weight");
  CHECK(embd.type == DType::F32);
  CHECK(embd.shape == std::vector<int64_t>{512, 64});  // [n_vocab, n_embd]
  CHECK(embd.bytes == 512 * 64 * 4);
  CHECK(f.tensor("blk.0.attn_k.weight").shape == std::vector<int64_t>{32, 64});  // 4 KV heads of 8

  for (const char* model : {"models/tiny-gqa-q8_0.gguf", "models/tiny-gqa-q4_0.gguf", "models/tiny-gqa-f16.gguf",
                            "models/tiny-bpe-vocab-q8_0.gguf"}) {
    INFO(model);
    const GgufFile g = GgufFile::open(testing::shared_file(model));
    CHECK(g.architecture() == "llama");
    CHECK(!g.tensors().empty());
    uint64_t total = 0;
    for (const TensorInfo& t : g.tensors()) total += t.bytes;
    CHECK(total <= g.file_size());
  }
}
