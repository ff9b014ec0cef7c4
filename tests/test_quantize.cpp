// `vkgraph quantize` and quantize on load (LoadOptions::weights) with q8_0 and q4_0: which tensors convert, the
// converted file's types, sizes and metadata, bytes identical to llama.cpp's Q8_0/Q4_0 files when
// given the same values, logits against the llama.cpp references, and on-load == offline.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "engine/backend/registry.h"
#include "models/logits_dump.h"
#include "models/quantize.h"
#include "run_command.h"
#include "shared_files.h"
#include "test_quantize_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

struct TypeCase {
  const char* name;
  DType type;
  uint32_t file_type;     // llama_ftype: 7 mostly q8_0, 2 mostly q4_0
  const char* model;      // llama.cpp's file of that type, under ../shared/models
  const char* reference;  // its logits, under ../shared/reference/logits
  double nmse_bound;      // reference/README.md: llama.cpp's own Vulkan backend against its CPU
};

const TypeCase type_cases[] = {
    {"q8_0", DType::Q8_0, 7, "tiny-gqa-q8_0.gguf", "tiny-gqa-q8_0.json", 3e-3},
    {"q4_0", DType::Q4_0, 2, "tiny-gqa-q4_0.gguf", "tiny-gqa-q4_0.json", 8e-6},
};

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

// The pure schemes (q8_0, q4_0): every f32/f16 matrix whose rows fill blocks converts.
std::optional<std::string> kept_reason(const gguf::TensorInfo& t, const char* scheme) {
  const models::TensorDesc d{t.name, t.shape, t.type};
  const models::TensorChoice c =
      models::choose_tensor_types(models::find_quant_scheme(scheme, "--type"), models::MixModel{}, {&d, 1}).at(0);
  if (c.converted) return std::nullopt;
  return c.reason;
}

TEST_CASE("q8_0 and q4_0 convert f32/f16 matrices whose rows fill blocks and keep the rest", "[quantize]") {
  gguf::TensorInfo t{"m", DType::F16, 1, {8, 64}, 512, 0, 1024};
  CHECK_FALSE(kept_reason(t, "q8_0").has_value());
  t.type = DType::F32;
  CHECK_FALSE(kept_reason(t, "q4_0").has_value());
  t.shape = {8, 40};
  REQUIRE(kept_reason(t, "q4_0").has_value());
  CHECK_THAT(*kept_reason(t, "q4_0"), ContainsSubstring("rows of 40"));
  t.shape = {64};
  CHECK_THAT(*kept_reason(t, "q8_0"), ContainsSubstring("norms and biases"));
  t.shape = {8, 64};
  t.type = DType::Q8_0;
  CHECK_THAT(*kept_reason(t, "q4_0"), ContainsSubstring("already quantized"));
  CHECK(models::find_quant_scheme("q8_0", "--type").file_type == 7);
  CHECK(models::find_quant_scheme("q4_0", "--type").file_type == 2);
  CHECK_THROWS_WITH(models::find_quant_scheme("q7_1", "--weights"),
                    ContainsSubstring("--weights must be one of q8_0, q4_0, ") && ContainsSubstring("(got 'q7_1')"));
}

TEST_CASE("vkgraph quantize converts tiny-gqa-f16: types, sizes, metadata, untouched vectors", "[quantize][cli]") {
  const std::string input = testing::shared_file("models/tiny-gqa-f16.gguf");
  const gguf::GgufFile in = gguf::GgufFile::open(input);
  for (const TypeCase& c : type_cases) {
    DYNAMIC_SECTION(c.name) {
      testing::TempDir dir;
      const std::string output = dir.file("out.gguf");
      const auto r = testing::run_vkgraph(
          fmt::format("quantize {} {} --type {}", testing::shell_quote(input), testing::shell_quote(output), c.name));
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      // 4 layers x 7 matrices + embedding + output convert; 4 x 2 layer norms + output norm stay.
      CHECK_THAT(r.out, ContainsSubstring(fmt::format("30 of 39 tensors converted to {}", c.name)));
      CHECK_THAT(r.out, ContainsSubstring("0 matrices and 9 norm/bias vectors kept"));

      const gguf::GgufFile out = gguf::GgufFile::open(output);
      CHECK(out.get_u32("general.file_type") == c.file_type);
      REQUIRE(out.metadata().size() == in.metadata().size());
      for (size_t i = 0; i < in.metadata().size(); ++i) {
        INFO(in.metadata()[i].key);
        CHECK(out.metadata()[i].key == in.metadata()[i].key);
        if (in.metadata()[i].key != "general.file_type") CHECK(out.metadata()[i].value == in.metadata()[i].value);
      }
      REQUIRE(out.tensors().size() == in.tensors().size());
      uint64_t packed = 0;
      for (size_t i = 0; i < in.tensors().size(); ++i) {
        const gguf::TensorInfo& a = in.tensors()[i];
        const gguf::TensorInfo& b = out.tensors()[i];
        INFO(a.name);
        CHECK(b.name == a.name);
        CHECK(b.shape == a.shape);
        if (a.shape.size() == 1) {  // norms: f32, byte for byte
          CHECK(b.type == DType::F32);
          CHECK(same_bytes(in.data(a), out.data(b)));
        } else {
          CHECK(b.type == c.type);
          // Q8_0: 34 bytes per 32 weights; Q4_0: 18.
          CHECK(b.bytes == uint64_t(a.shape[0]) * uint64_t(a.shape[1]) / 32 * (c.type == DType::Q8_0 ? 34 : 18));
          CHECK(same_bytes(models::quantize_tensor(a, in.data(a), c.type), out.data(b)));
        }
        packed += b.bytes;
      }
      // tiny-gqa: 2 x 4096 x 256 embedding/output + 4 x (2 x 256^2 + 2 x 128 x 256 + 3 x 704 x 256).
      const uint64_t weights = 2ull * 4096 * 256 + 4ull * (2 * 256 * 256 + 2 * 128 * 256 + 3 * 704 * 256);
      CHECK(packed == weights / 32 * (c.type == DType::Q8_0 ? 34 : 18) + 9 * 256 * 4);
    }
  }
}

TEST_CASE("vkgraph quantize names the matrices it keeps and refuses a bad type", "[quantize][cli]") {
  testing::TempDir dir;
  gguf::GgufWriter w;
  w.set_string("general.architecture", "test");
  std::vector<float> values(4 * 40);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(float(i));
  std::vector<std::byte> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  w.add_tensor("odd.weight", DType::F32, {4, 40}, bytes);   // 40 is not a multiple of 32
  w.add_tensor("even.weight", DType::F32, {5, 32}, bytes);  // 160 values as 5 rows of 32
  w.write(dir.file("in.gguf"));

  const auto r =
      testing::run_vkgraph(fmt::format("quantize {} {} --type q4_0", dir.file("in.gguf"), dir.file("out.gguf")));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, ContainsSubstring("kept odd.weight: rows of 40 are not a multiple of the 32-element q4_0 block"));
  CHECK_THAT(r.out, ContainsSubstring("1 of 2 tensors converted to q4_0"));
  const gguf::GgufFile out = gguf::GgufFile::open(dir.file("out.gguf"));
  CHECK(out.tensor("odd.weight").type == DType::F32);
  CHECK(same_bytes(out.data(out.tensor("odd.weight")), bytes));
  CHECK(out.tensor("even.weight").type == DType::Q4_0);
  CHECK(out.tensor("even.weight").bytes == 5 * 18);

  const auto bad =
      testing::run_vkgraph(fmt::format("quantize {} {} --type q5_2", dir.file("in.gguf"), dir.file("x.gguf")));
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, ContainsSubstring("--type must be one of q8_0, q4_0, q4_1") && ContainsSubstring("(got 'q5_2')"));
}

// llama.cpp's tiny-gqa Q8_0/Q4_0 files hold other random values than tiny-gqa-f16 (they are not
// conversions of it), and their blocks are random codes, not quantizer outputs: 80% of the Q8_0
// blocks have no code of magnitude 127 (some hold -128), 13% of the Q4_0 blocks no code 0. So no
// whole file can be reproduced. What can: widening a file to F32 and converting it back must
// return every block that a round-to-nearest quantizer would have written unchanged (Q8_0: the
// largest code is +-127 and none is -128; Q4_0: some code is 0, the value of largest magnitude),
// which checks the scale and the rounding against llama.cpp's format bit for bit.
bool is_quantizer_output(DType type, std::span<const std::byte> block) {
  if (type == DType::Q8_0) {
    BlockQ8_0 b;
    std::memcpy(&b, block.data(), sizeof b);
    int largest = 0;
    for (int8_t q : b.qs) largest = std::max(largest, int(q));
    for (int8_t q : b.qs) largest = std::max(largest, -int(q));
    return largest == 127;
  }
  BlockQ4_0 b;
  std::memcpy(&b, block.data(), sizeof b);
  for (uint8_t q : b.qs) {
    if ((q & 0x0f) == 0 || (q >> 4) == 0) return true;
  }
  return false;
}

TEST_CASE("vkgraph quantize returns llama.cpp's q8_0 and q4_0 blocks bit for bit", "[quantize][cli][reference]") {
  for (const TypeCase& c : type_cases) {
    DYNAMIC_SECTION(c.name) {
      testing::TempDir dir;
      const std::string original = testing::shared_file(std::string("models/") + c.model);
      testing::write_f32_copy(original, dir.file("f32.gguf"));
      const auto r = testing::run_vkgraph(
          fmt::format("quantize {} {} --type {}", dir.file("f32.gguf"), dir.file("requantized.gguf"), c.name));
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      const gguf::GgufFile ref = gguf::GgufFile::open(original);
      const gguf::GgufFile ours = gguf::GgufFile::open(dir.file("requantized.gguf"));
      REQUIRE(ours.tensors().size() == ref.tensors().size());
      const size_t block_bytes = dtype_info(c.type).block_bytes;
      size_t fixed_blocks = 0, identical = 0, all_blocks = 0;
      for (const gguf::TensorInfo& t : ref.tensors()) {
        INFO(t.name);
        const gguf::TensorInfo& o = ours.tensor(t.name);
        REQUIRE(o.type == t.type);
        if (t.type != c.type) {  // the norms: f32 -> f32, unchanged
          CHECK(same_bytes(ours.data(o), ref.data(t)));
          continue;
        }
        for (size_t at = 0; at < t.bytes; at += block_bytes) {
          const auto theirs = ref.data(t).subspan(at, block_bytes), mine = ours.data(o).subspan(at, block_bytes);
          all_blocks++;
          if (!is_quantizer_output(c.type, theirs)) continue;
          fixed_blocks++;
          if (same_bytes(theirs, mine)) identical++;
        }
      }
      INFO(fmt::format("{}: {} of {} blocks are quantizer outputs, {} identical", c.name, fixed_blocks, all_blocks,
                       identical));
      // Measured: 31210 of 157696 Q8_0 blocks, 137538 of 157696 Q4_0 blocks.
      CHECK(fixed_blocks > all_blocks / 10);
      CHECK(identical == fixed_blocks);

      // Q8_0: requantizing moves the other blocks by under half a code step and the logits still
      // meet llama.cpp's own Vulkan bound. Q4_0's bound (8e-6) is far below what moving 12% of
      // the blocks by up to a code costs (2.9e-4 measured), so it is not asserted for Q4_0 here;
      // the llama.cpp file itself meets it (test_model_reference).
      if (c.type == DType::Q8_0) {
        const models::LogitsFile expected =
            models::read_logits_json(testing::shared_file(std::string("reference/logits/") + c.reference));
        auto backend = create_backend("cpu", "");
        const auto model = models::Model::load(dir.file("requantized.gguf"), *backend);
        const double err =
            models::nmse(testing::logits_per_position(*model, *backend, expected.tokens), expected.logits);
        INFO(fmt::format("{}: NMSE {:.3g} (bound {:.3g})", c.reference, err, c.nmse_bound));
        CHECK(err <= c.nmse_bound);
      }
    }
  }
}

TEST_CASE("quantize on load gives exactly the logits of the file quantized offline", "[quantize][model]") {
  const std::string input = testing::shared_file("models/tiny-gqa-f16.gguf");
  const models::LogitsFile prompt =
      models::read_logits_json(testing::shared_file("reference/logits/tiny-gqa-f16.json"));
  for (const TypeCase& c : type_cases) {
    DYNAMIC_SECTION(c.name) {
      testing::TempDir dir;
      models::quantize_file(input, dir.file("offline.gguf"), models::find_quant_scheme(c.name, "--type"));

      auto backend_a = create_backend("cpu", "");
      const auto offline = models::Model::load(dir.file("offline.gguf"), *backend_a);
      auto backend_b = create_backend("cpu", "");
      models::LoadOptions options;
      options.weights = c.name;
      const auto on_load = models::Model::load(input, *backend_b, options);

      CHECK(on_load->weight_type() == c.name);
      CHECK(on_load->weight_bytes() == offline->weight_bytes());
      CHECK(backend_b->storage_bytes() == on_load->weight_bytes());
      CHECK(on_load->weights().layers[0].wq.dtype == c.type);
      CHECK(on_load->weights().tok_embd.dtype == c.type);
      CHECK(on_load->weights().output_norm.dtype == DType::F32);
      CHECK(testing::logits_per_position(*on_load, *backend_b, prompt.tokens) ==
            testing::logits_per_position(*offline, *backend_a, prompt.tokens));
    }
  }
}

TEST_CASE("vkgraph run --weights q4_0 --verbose reports packed and stored weight bytes", "[quantize][cli]") {
  const std::string input = testing::shared_file("models/tiny-gqa-f16.gguf");
  const auto r = testing::run_vkgraph(
      fmt::format("run -m {} --backend cpu --weights q4_0 -p hello -n 2 --verbose", testing::shell_quote(input)));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // The tiny-gqa-f16 figures of the test above: q4_0 matrices plus 9 f32 norms of 256.
  const uint64_t weights = 2ull * 4096 * 256 + 4ull * (2 * 256 * 256 + 2 * 128 * 256 + 3 * 704 * 256);
  const uint64_t packed = weights / 32 * 18 + 9 * 256 * 4;
  CHECK_THAT(r.err, ContainsSubstring(
                        fmt::format("weights: {} bytes packed (q4_0), {} bytes in backend storage", packed, packed)));
  CHECK_THAT(r.err,
             ContainsSubstring("converted 30 of 39 tensors to q4_0 while loading; 9 norm and bias vectors stay f32"));

  const auto bad = testing::run_vkgraph("run --backend cpu --weights int3 -p hello -n 1");
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, ContainsSubstring("--weights must be one of q8_0, q4_0, ") && ContainsSubstring("(got 'int3')"));
}

TEST_CASE("quantize on load keeps stories260K's 172-wide ffn_down rows in f32 and says so", "[quantize][cli]") {
  // stories260K (all f32): n_ff 172 is not a multiple of 32, so the five ffn_down matrices stay.
  const auto r = testing::run_vkgraph("run --backend cpu --weights q8_0 -p 'Once upon a time' -n 4 --seed 1 --verbose");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  for (int il = 0; il < 5; ++il) {
    CHECK_THAT(
        r.err,
        ContainsSubstring(fmt::format(
            "'blk.{}.ffn_down.weight' stays f32: rows of 172 are not a multiple of the 32-element q8_0 block", il)));
  }
  CHECK_THAT(r.err,
             ContainsSubstring("converted 32 of 48 tensors to q8_0 while loading; 11 norm and bias vectors stay f32"));
  // 237056 q8_0 weights (2 x 512 x 64 + 5 x 34304) / 32 x 34 = 251872, plus 5 f32 ffn_down of
  // 64 x 172 (220160 bytes) and 11 f32 norms of 64 (2816 bytes).
  CHECK_THAT(r.err, ContainsSubstring("weights: 474848 bytes packed (q8_0), 474848 bytes in backend storage"));
}
