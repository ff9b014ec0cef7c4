// Hostile GGUF files: each defect gives a vkgraph::Error naming the file and the problem, never a
// crash. The corpus is generated here: hand-built headers with one defect each, truncations of
// valid files at many offsets, and random byte flips under a fixed seed.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_writer.h"
#include "tests/test_models_shared.h"

using namespace vkgraph;
using namespace vkgraph::gguf;
using Catch::Matchers::ContainsSubstring;

namespace {

using Bytes = std::vector<uint8_t>;

template <typename T>
void put(Bytes& b, T v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + sizeof(T));
}
void put_string(Bytes& b, const std::string& s) {
  put<uint64_t>(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}

struct RawTensor {
  std::string name;
  std::vector<uint64_t> ne;  // GGUF order: innermost first
  uint32_t type = 0;
  uint64_t offset = 0;
};

// A GGUF file assembled field by field, so a test can put any value in any field.
struct RawFile {
  uint32_t magic = 0x46554747;
  uint32_t version = 3;
  std::optional<uint64_t> n_tensors;  // overrides the real counts
  std::optional<uint64_t> n_kv;
  std::vector<Bytes> kvs;  // each: key, type and value, encoded
  std::vector<RawTensor> tensors;
  uint64_t alignment = 32;
  uint64_t data_bytes = 256;

  void kv_u32(const std::string& key, uint32_t v) {
    Bytes b;
    put_string(b, key);
    put<uint32_t>(b, 4);
    put<uint32_t>(b, v);
    kvs.push_back(b);
  }
  void kv_raw(const std::string& key, uint32_t type, const Bytes& payload) {
    Bytes b;
    put_string(b, key);
    put<uint32_t>(b, type);
    b.insert(b.end(), payload.begin(), payload.end());
    kvs.push_back(b);
  }
  Bytes bytes() const {
    Bytes b;
    put(b, magic);
    put(b, version);
    put<uint64_t>(b, n_tensors.value_or(tensors.size()));
    put<uint64_t>(b, n_kv.value_or(kvs.size()));
    for (const Bytes& kv : kvs) b.insert(b.end(), kv.begin(), kv.end());
    for (const RawTensor& t : tensors) {
      put_string(b, t.name);
      put<uint32_t>(b, uint32_t(t.ne.size()));
      for (uint64_t d : t.ne) put(b, d);
      put(b, t.type);
      put(b, t.offset);
    }
    while (b.size() % alignment) b.push_back(0);
    b.resize(b.size() + data_bytes, 0x5a);
    return b;
  }
};

// The valid base the defects are applied to: two f32 tensors of 32 floats (128 bytes each).
RawFile valid_raw() {
  RawFile f;
  f.kv_u32("general.alignment", 32);
  Bytes arch;
  put_string(arch, "llama");
  f.kv_raw("general.architecture", 8, arch);
  f.tensors = {{"a", {32}, 0, 0}, {"b", {32}, 0, 128}};
  return f;
}

std::string write_file(const std::string& name, const Bytes& bytes) {
  static const testing::ScratchDir dir("gguf-hostile");
  const std::string path = (dir / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return path;
}

Bytes read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// Opens `bytes` as a file and returns the error message; fails the test when it opens.
std::string open_error(const std::string& name, const Bytes& bytes) {
  const std::string path = write_file(name, bytes);
  try {
    GgufFile::open(path);
  } catch (const Error& e) {
    const std::string message = e.what();
    CHECK_THAT(message, ContainsSubstring(path));
    return message;
  }
  FAIL("GGUF file '" << name << "' opened but should have been refused");
  return {};
}

// Opens the file and reads everything it offers; only vkgraph::Error may come out.
bool open_and_touch(const std::string& path) {
  try {
    const GgufFile f = GgufFile::open(path);
    size_t sum = 0;
    for (const MetadataEntry& m : f.metadata()) sum += m.key.size();
    for (const TensorInfo& t : f.tensors()) {
      const std::span<const std::byte> d = f.data(t);
      if (!d.empty()) sum += size_t(d.front()) + size_t(d.back());
    }
    (void)sum;
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

TEST_CASE("the hostile-GGUF base file is valid, as version 3 and version 2", "[gguf]") {
  RawFile raw = valid_raw();
  for (uint32_t version : {3u, 2u}) {
    raw.version = version;
    const GgufFile f = GgufFile::open(write_file("base.gguf", raw.bytes()));
    CHECK(f.version() == version);
    CHECK(f.tensors().size() == 2);
    CHECK(f.tensor("b").bytes == 128);
    CHECK(f.tensor("b").offset == f.tensor("a").offset + 128);
  }
}

TEST_CASE("GGUF header defects are refused with messages naming them", "[gguf]") {
  RawFile f = valid_raw();
  SECTION("wrong magic") {
    f.magic = 0x46554746;
    CHECK_THAT(open_error("magic.gguf", f.bytes()), ContainsSubstring("not a GGUF file"));
  }
  SECTION("version 1") {
    f.version = 1;
    CHECK_THAT(open_error("v1.gguf", f.bytes()), ContainsSubstring("GGUF version 1 is not supported"));
  }
  SECTION("version 99") {
    f.version = 99;
    CHECK_THAT(open_error("v99.gguf", f.bytes()), ContainsSubstring("unsupported GGUF version 99"));
  }
  SECTION("big-endian file") {
    f.version = 0x03000000;
    CHECK_THAT(open_error("be.gguf", f.bytes()), ContainsSubstring("big-endian"));
  }
  SECTION("empty file") { CHECK_THAT(open_error("empty.gguf", {}), ContainsSubstring("empty")); }
  SECTION("huge tensor count") {
    f.n_tensors = uint64_t(1) << 60;
    CHECK_THAT(open_error("ntensors.gguf", f.bytes()), ContainsSubstring("tensor count 1152921504606846976"));
  }
  SECTION("huge metadata count") {
    f.n_kv = ~uint64_t(0);
    CHECK_THAT(open_error("nkv.gguf", f.bytes()), ContainsSubstring("metadata count 18446744073709551615"));
  }
  SECTION("huge key length") {
    Bytes b;
    put<uint64_t>(b, uint64_t(1) << 62);
    f.kvs.insert(f.kvs.begin(), b);
    CHECK_THAT(open_error("keylen.gguf", f.bytes()),
               ContainsSubstring("metadata key #0 has length 4611686018427387904"));
  }
  SECTION("huge string value length") {
    Bytes payload;
    put<uint64_t>(payload, ~uint64_t(0) - 3);
    f.kv_raw("general.name", 8, payload);
    CHECK_THAT(open_error("strlen.gguf", f.bytes()), ContainsSubstring("metadata 'general.name' has length"));
  }
  SECTION("huge array length") {
    Bytes payload;
    put<uint32_t>(payload, 6);  // f32 elements
    put<uint64_t>(payload, uint64_t(1) << 62);
    f.kv_raw("tokenizer.ggml.scores", 9, payload);
    CHECK_THAT(open_error("arraylen.gguf", f.bytes()),
               ContainsSubstring("'tokenizer.ggml.scores' has 4611686018427387904 elements"));
  }
  SECTION("huge string array length") {
    Bytes payload;
    put<uint32_t>(payload, 8);
    put<uint64_t>(payload, uint64_t(1) << 40);
    f.kv_raw("tokenizer.ggml.tokens", 9, payload);
    CHECK_THAT(open_error("strarray.gguf", f.bytes()),
               ContainsSubstring("'tokenizer.ggml.tokens' has 1099511627776 strings"));
  }
  SECTION("unknown value type") {
    f.kv_raw("x.weird", 13, Bytes(8, 0));
    CHECK_THAT(open_error("vtype.gguf", f.bytes()), ContainsSubstring("'x.weird' has unknown value type 13"));
  }
  SECTION("nested array") {
    Bytes payload;
    put<uint32_t>(payload, 9);
    put<uint64_t>(payload, 1);
    f.kv_raw("x.nested", 9, payload);
    CHECK_THAT(open_error("nested.gguf", f.bytes()), ContainsSubstring("'x.nested' is an array of arrays"));
  }
  SECTION("bool that is neither 0 nor 1") {
    f.kv_raw("x.flag", 7, Bytes{2});
    CHECK_THAT(open_error("bool.gguf", f.bytes()), ContainsSubstring("'x.flag' holds bool value 2"));
  }
  SECTION("duplicate metadata key") {
    f.kv_u32("x.k", 1);
    f.kv_u32("x.k", 2);
    CHECK_THAT(open_error("dupkey.gguf", f.bytes()), ContainsSubstring("metadata key 'x.k' appears twice"));
  }
  SECTION("alignment not a power of two") {
    f.kvs[0] = {};
    f.kvs.erase(f.kvs.begin());
    f.kv_u32("general.alignment", 48);
    CHECK_THAT(open_error("align48.gguf", f.bytes()),
               ContainsSubstring("'general.alignment' is 48, expected a power of two"));
  }
  SECTION("alignment zero") {
    f.kvs.erase(f.kvs.begin());
    f.kv_u32("general.alignment", 0);
    CHECK_THAT(open_error("align0.gguf", f.bytes()), ContainsSubstring("'general.alignment' is 0"));
  }
  SECTION("alignment below 4 bytes") {
    f.kvs.erase(f.kvs.begin());
    f.kv_u32("general.alignment", 2);
    CHECK_THAT(open_error("align2.gguf", f.bytes()),
               ContainsSubstring("'general.alignment' is 2; tensor data must be aligned to at least 4 bytes"));
  }
  SECTION("alignment of the wrong type") {
    f.kvs.erase(f.kvs.begin());
    f.kv_raw("general.alignment", 10, Bytes(8, 0));
    CHECK_THAT(open_error("align-type.gguf", f.bytes()), ContainsSubstring("'general.alignment' is u64, expected u32"));
  }
}

TEST_CASE("GGUF tensor table defects are refused with messages naming the tensor", "[gguf]") {
  RawFile f = valid_raw();
  SECTION("five dimensions") {
    f.tensors[1].ne = {32, 1, 1, 1, 1};
    CHECK_THAT(open_error("dims5.gguf", f.bytes()), ContainsSubstring("tensor 'b' has 5 dimensions (expected 1 to 4)"));
  }
  SECTION("zero dimensions") {
    f.tensors[1].ne = {};
    CHECK_THAT(open_error("dims0.gguf", f.bytes()), ContainsSubstring("tensor 'b' has 0 dimensions"));
  }
  SECTION("a zero dimension") {
    f.tensors[1].ne = {32, 0};
    CHECK_THAT(open_error("dimzero.gguf", f.bytes()), ContainsSubstring("tensor 'b' dimension 1 is 0"));
  }
  SECTION("a dimension beyond int64") {
    f.tensors[1].ne = {~uint64_t(0)};
    CHECK_THAT(open_error("dimhuge.gguf", f.bytes()), ContainsSubstring("tensor 'b' dimension 0 is -1"));
  }
  SECTION("dimensions whose product overflows") {
    f.tensors[1].ne = {uint64_t(1) << 32, uint64_t(1) << 32};
    CHECK_THAT(open_error("dimprod.gguf", f.bytes()), ContainsSubstring("tensor 'b' has too many elements"));
  }
  SECTION("byte size that overflows") {
    f.tensors[1].ne = {uint64_t(1) << 31, uint64_t(1) << 31};  // 2^62 elements of 4 bytes
    CHECK_THAT(open_error("bytesize.gguf", f.bytes()), ContainsSubstring("tensor 'b' byte size overflows"));
  }
  SECTION("data past the end of the file") {
    f.tensors[1].offset = 1 << 20;
    CHECK_THAT(open_error("pastend.gguf", f.bytes()),
               ContainsSubstring("tensor 'b' data [offset 1048576, 128 bytes] extends past the end of the file"));
  }
  SECTION("offset near 2^64") {
    f.tensors[1].offset = ~uint64_t(0) - 31;
    CHECK_THAT(open_error("offwrap.gguf", f.bytes()), ContainsSubstring("tensor 'b' data"));
  }
  SECTION("tensor larger than the file") {
    f.tensors[1].ne = {32, 1000};
    CHECK_THAT(open_error("big.gguf", f.bytes()),
               ContainsSubstring("tensor 'b' data [offset 128, 128000 bytes] extends past"));
  }
  SECTION("misaligned offset") {
    f.tensors[1].offset = 136;
    CHECK_THAT(open_error("misaligned.gguf", f.bytes()),
               ContainsSubstring("tensor 'b' data offset 136 is not a multiple of the alignment 32"));
  }
  SECTION("overlapping tensors") {
    f.tensors[1].offset = 96;
    f.tensors[1].ne = {8};
    f.tensors[0].ne = {64};
    CHECK_THAT(open_error("overlap.gguf", f.bytes()),
               ContainsSubstring("tensors 'a'") && ContainsSubstring("'b'") && ContainsSubstring("overlap"));
  }
  SECTION("unsupported tensor type") {
    f.tensors[1].type = 16;
    f.tensors[1].ne = {256};
    CHECK_THAT(
        open_error("iq2xxs.gguf", f.bytes()),
        ContainsSubstring("tensor 'b' has tensor type iq2_xxs (id 16), which is not supported (supported: f32, "
                          "f16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, iq4_xs, bf16)"));
  }
  SECTION("unknown tensor type id") {
    f.tensors[0].type = 999;
    CHECK_THAT(open_error("type999.gguf", f.bytes()),
               ContainsSubstring("tensor 'a' has tensor type type 999 (id 999)"));
  }
  SECTION("quantized rows not a multiple of the block") {
    f.tensors[1].type = 8;
    f.tensors[1].ne = {48};
    CHECK_THAT(open_error("q8row.gguf", f.bytes()),
               ContainsSubstring("rows of 48 elements, not a multiple of its block size 32"));
  }
  SECTION("duplicate tensor names") {
    f.tensors[1].name = "a";
    CHECK_THAT(open_error("dupname.gguf", f.bytes()), ContainsSubstring("tensor 'a' appears twice"));
  }
  SECTION("empty tensor name") {
    f.tensors[0].name = "";
    CHECK_THAT(open_error("noname.gguf", f.bytes()), ContainsSubstring("tensor #0 has an empty name"));
  }
}

TEST_CASE("GGUF files truncated anywhere are refused", "[gguf]") {
  const Bytes whole = valid_raw().bytes();
  const GgufFile ok = GgufFile::open(write_file("trunc-base.gguf", whole));
  // Every length up to the end of the last tensor: the header region byte by byte, then the data.
  const uint64_t data_end = ok.tensor("b").offset + ok.tensor("b").bytes;
  for (uint64_t size = 0; size < data_end; ++size) {
    INFO("truncated to " << size << " bytes");
    const std::string message = open_error("trunc.gguf", Bytes(whole.begin(), whole.begin() + ptrdiff_t(size)));
    if (size > 0) {
      // A count checked against the bytes left says "could hold"; a read says "truncated".
      CHECK((message.find("truncated") != std::string::npos || message.find("past the end") != std::string::npos ||
             message.find("could hold") != std::string::npos));
    }
  }

  // The same over the header of a real model, at every header byte, and sampled in its data.
  const Bytes model = read_all(testing::shared_file("models/stories260K.gguf"));
  const GgufFile real = GgufFile::open(testing::shared_file("models/stories260K.gguf"));
  uint64_t first_data = real.file_size();
  for (const TensorInfo& t : real.tensors()) first_data = std::min(first_data, t.offset);
  std::vector<uint64_t> sizes;
  for (uint64_t s = 1; s < first_data; s += (s < 4096 ? 1 : 97)) sizes.push_back(s);
  for (uint64_t s = first_data; s < model.size(); s += model.size() / 64) sizes.push_back(s);
  sizes.push_back(model.size() - 1);
  for (uint64_t size : sizes) {
    INFO("stories260K truncated to " << size << " bytes");
    open_error("trunc-real.gguf", Bytes(model.begin(), model.begin() + ptrdiff_t(size)));
  }
}

TEST_CASE("GGUF reader survives random byte flips", "[gguf]") {
  // Every flipped file either opens (and every byte it then offers is readable) or gives a
  // vkgraph::Error; any other exception or a crash fails. Flips land in the header, where they
  // matter; the fixed seed makes a failure reproducible.
  std::mt19937_64 rng(0x6767'7566);
  struct Source {
    std::string name;
    Bytes bytes;
    uint64_t header_end;
    int rounds;
  };
  std::vector<Source> sources;
  {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_u32("llama.block_count", 2);
    w.set_array("tokenizer.ggml.tokens", std::vector<std::string>{"a", "b", "<s>"});
    w.set_array("tokenizer.ggml.scores", std::vector<float>{0.f, -1.f, -2.f});
    w.add_tensor("token_embd.weight", DType::F32, {3, 32}, std::vector<std::byte>(3 * 32 * 4));
    w.add_tensor("blk.0.attn_q.weight", DType::Q8_0, {2, 32}, std::vector<std::byte>(2 * 34));
    const std::string path = write_file("flip-base.gguf", {});
    w.write(path);
    const GgufFile f = GgufFile::open(path);
    sources.push_back({"writer", read_all(path), f.tensors().front().offset, 3000});
  }
  {
    const std::string path = testing::shared_file("models/stories260K.gguf");
    const GgufFile f = GgufFile::open(path);
    uint64_t first_data = f.file_size();
    for (const TensorInfo& t : f.tensors()) first_data = std::min(first_data, t.offset);
    sources.push_back({"stories260K", read_all(path), first_data, 1000});
  }
  for (const Source& s : sources) {
    int opened = 0;
    for (int round = 0; round < s.rounds; ++round) {
      Bytes bytes = s.bytes;
      const int flips = 1 + int(rng() % 4);
      for (int i = 0; i < flips; ++i) {
        const uint64_t at = rng() % s.header_end;
        bytes[at] ^= uint8_t(1u << (rng() % 8));
      }
      const std::string path = write_file("flip.gguf", bytes);
      INFO(s.name << " round " << round);
      try {
        opened += open_and_touch(path) ? 1 : 0;
      } catch (const std::exception& e) {
        FAIL("non-vkgraph exception: " << e.what());
      }
    }
    // Some flips hit strings' contents and leave a valid file: both outcomes were exercised.
    INFO(s.name << ": " << opened << " of " << s.rounds << " flipped files opened");
    CHECK(opened > 0);
    CHECK(opened < s.rounds);
  }
}
