// The quantization schemes beyond q8_0/q4_0 (models/quant_scheme.h): the per-tensor mixes
// against the files llama.cpp's quantizer wrote from the same F16 model, the blocks against its
// blocks, the quality of the result against llama.cpp's, quantize on load, and synthetic models
// of real shapes whose rows need the fallback types.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <fmt/format.h>

#include <limits>
#include <map>

#include "closeness_checks.h"
#include "engine/backend/registry.h"
#include "models/logits_dump.h"
#include "models/model.h"
#include "models/quantize.h"
#include "models/synth/presets.h"
#include "models/synth/synth_model.h"
#include "run_command.h"
#include "shared_files.h"
#include "test_quantize_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

std::string quantize_tiny_k(const testing::TempDir& dir, const std::string& scheme) {
  const std::string out = dir.file("tiny-k-" + scheme + ".gguf");
  models::quantize_file(testing::shared_file("models/tiny-k-f16.gguf"), out,
                        models::find_quant_scheme(scheme, "--type"));
  return out;
}

}  // namespace

namespace {

// The share of blocks of `type` that are byte for byte the same in both files.
double identical_share(const gguf::GgufFile& ours, const gguf::GgufFile& theirs, DType type, size_t* blocks) {
  const size_t block = dtype_info(type).block_bytes;
  size_t identical = 0;
  *blocks = 0;
  for (const gguf::TensorInfo& t : theirs.tensors()) {
    if (t.type != type) continue;
    const auto a = ours.data(ours.tensor(t.name)), b = theirs.data(t);
    REQUIRE(a.size() == b.size());
    for (size_t at = 0; at < a.size(); at += block) {
      ++*blocks;
      identical += std::equal(a.begin() + std::ptrdiff_t(at), a.begin() + std::ptrdiff_t(at + block),
                              b.begin() + std::ptrdiff_t(at));
    }
  }
  return *blocks > 0 ? double(identical) / double(*blocks) : 0.0;
}

}  // namespace

TEST_CASE("every scheme against llama.cpp's file of it: tensor types, blocks, closeness to F16",
          "[quantize][reference][model]") {
  // Each scheme quantizes tiny-k-f16 once here, and the result is held against llama.cpp's
  // quantization of the same model (../shared/models/tiny-k-<scheme>.gguf):
  //
  // 1. Every tensor has the type llama.cpp's mix gave it (and the file the same llama_ftype).
  //
  // 2. Blocks: where both quantizers take the same steps, the same bytes. The plain quantizers
  //    (q4_1, q5_0, q5_1), the affine K-quant searches (q2_k, q4_k, q5_k) and the scale searches
  //    of q6_k and iq4_nl follow llama.cpp's without an importance matrix. Measured identical:
  //    100% of the blocks of q4_1, q5_0, q5_1, q2_k, q4_k, q5_k; 98.6% of q6_k and 99.6% of
  //    iq4_nl, whose other blocks differ by float rounding in sums of 16 or 32 products (a tie in
  //    the search going the other way). The bound, 97%, fails for any systematic difference (a
  //    layout, a grid, a weighting: those leave under 40% identical). q3_k (our coordinate
  //    descent also moves codes of blocks llama.cpp leaves) and iq4_xs (sub-scales chosen with
  //    the f16 scale as stored) differ on purpose: 3. holds them to llama.cpp's quality.
  //
  // 3. The bar for the K-quant schemes (and iq4_xs): logits NMSE against the F16 model
  //    at most 1.1x that of llama.cpp's file, both run here on the CPU backend over the reference
  //    prompt. Measured ratios: q4_k_m 1.000, q4_k_s 1.00, q5_k_m 1.00, q6_k 1.00, q3_k_m 1.02,
  //    q2_k 0.98, iq4_xs 0.95.
  const struct {
    const char* scheme;
    std::vector<DType> same_steps;  // types whose blocks must match llama.cpp's
    bool quality;                   // check 3
  } cases[] = {
      {"q4_k_m", {DType::Q4_K, DType::Q6_K}, true},
      {"q4_k_s", {DType::Q4_K, DType::Q5_K, DType::Q6_K}, true},
      {"q5_k_m", {DType::Q5_K, DType::Q6_K}, true},
      {"q6_k", {DType::Q6_K}, true},
      {"q3_k_m", {DType::Q4_K, DType::Q5_K}, true},
      {"q2_k", {DType::Q2_K}, true},
      {"q4_1", {DType::Q4_1}, false},
      {"q5_0", {DType::Q5_0}, false},
      {"q5_1", {DType::Q5_1}, false},
      {"iq4_nl", {DType::IQ4_NL}, false},
      {"iq4_xs", {}, true},
  };
  const models::LogitsFile ref = models::read_logits_json(testing::shared_file("reference/logits/tiny-k-f16.json"));
  auto backend = create_backend("cpu", "");
  const auto f16 = models::Model::load(testing::shared_file("models/tiny-k-f16.gguf"), *backend);
  const auto f16_logits = testing::logits_per_position(*f16, *backend, ref.tokens);
  testing::TempDir dir;
  for (const auto& c : cases) {
    INFO(c.scheme);
    const std::string path = quantize_tiny_k(dir, c.scheme);
    const std::string theirs_path = testing::shared_file(fmt::format("models/tiny-k-{}.gguf", c.scheme));
    const gguf::GgufFile ours = gguf::GgufFile::open(path);
    const gguf::GgufFile theirs = gguf::GgufFile::open(theirs_path);

    CHECK(ours.get_u32("general.file_type") == theirs.get_u32("general.file_type"));
    REQUIRE(ours.tensors().size() == theirs.tensors().size());
    for (const gguf::TensorInfo& t : theirs.tensors()) {
      INFO(t.name);
      const gguf::TensorInfo& o = ours.tensor(t.name);
      CHECK(dtype_name(o.type) == dtype_name(t.type));
      CHECK(o.shape == t.shape);
    }

    for (DType type : c.same_steps) {
      size_t blocks = 0;
      const double share = identical_share(ours, theirs, type, &blocks);
      INFO(fmt::format("{}: {:.1f}% of {} blocks identical", dtype_name(type), 100 * share, blocks));
      CHECK(blocks > 100);
      CHECK(share >= 0.97);
    }

    if (c.quality) {
      const auto our_model = models::Model::load(path, *backend);
      const auto their_model = models::Model::load(theirs_path, *backend);
      // No bound of their own (the bound is the ratio below): they fail only on a non-finite value.
      constexpr double unbounded = std::numeric_limits<double>::infinity();
      const testing::Closeness ours_close =
          testing::nmse_close(testing::logits_per_position(*our_model, *backend, ref.tokens), f16_logits, unbounded);
      const testing::Closeness theirs_close =
          testing::nmse_close(testing::logits_per_position(*their_model, *backend, ref.tokens), f16_logits, unbounded);
      CHECK_CLOSE(ours_close);
      CHECK_CLOSE(theirs_close);
      const double ours_err = ours_close.error, theirs_err = theirs_close.error;
      INFO(fmt::format("NMSE against f16: ours {:.4g}, llama.cpp's {:.4g}, ratio {:.3f}", ours_err, theirs_err,
                       ours_err / theirs_err));
      CHECK(theirs_err > 1e-4);  // the comparison is not between two near-f16 files
      CHECK(ours_err <= 1.1 * theirs_err);
    }
  }
}

TEST_CASE("quantize on load with a mixed scheme gives the logits of the file quantized offline", "[quantize][model]") {
  const std::string input = testing::shared_file("models/tiny-k-f16.gguf");
  const models::LogitsFile ref = models::read_logits_json(testing::shared_file("reference/logits/tiny-k-f16.json"));
  testing::TempDir dir;
  auto backend_a = create_backend("cpu", "");
  const auto offline = models::Model::load(quantize_tiny_k(dir, "q4_k_m"), *backend_a);
  auto backend_b = create_backend("cpu", "");
  models::LoadOptions options;
  options.weights = "q4_k_m";
  const auto on_load = models::Model::load(input, *backend_b, options);
  CHECK(on_load->weight_bytes() == offline->weight_bytes());
  CHECK(on_load->weights().layers[0].wq.dtype == DType::Q4_K);
  CHECK(on_load->weights().layers[3].wv.dtype == DType::Q6_K);
  CHECK(on_load->weights().output.dtype == DType::Q6_K);
  CHECK(testing::logits_per_position(*on_load, *backend_b, ref.tokens) ==
        testing::logits_per_position(*offline, *backend_a, ref.tokens));
}

TEST_CASE("vkgraph quantize --type q4_k_m names the tensors the mix changes", "[quantize][cli]") {
  testing::TempDir dir;
  const auto r = testing::run_vkgraph(fmt::format("quantize {} {} --type q4_k_m",
                                                  testing::shell_quote(testing::shared_file("models/tiny-k-f16.gguf")),
                                                  dir.file("out.gguf")));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, ContainsSubstring("output.weight: the output matrix: q6_k"));
  CHECK_THAT(r.out, ContainsSubstring("blk.2.attn_v.weight: attn_v 2 of 4: q6_k"));
  CHECK_THAT(r.out, ContainsSubstring("blk.3.ffn_down.weight: ffn_down of layer 3 of 4: q6_k"));
  CHECK_THAT(r.out, ContainsSubstring("30 of 39 tensors converted to q4_k_m (25 q4_k, 5 q6_k)"));
}

TEST_CASE("synthetic smollm2-135m q4_k_m has llama.cpp's fallbacks for its 576-wide rows", "[quantize][synth]") {
  // SmolLM2-135M: embeddings of 576 (not a multiple of 256), FFN 1536, tied output. Two layers,
  // so layer 1 is one of the "more bits" layers of the _m mixes (the last eighth) and layer 0 not.
  testing::TempDir dir;
  models::SynthOptions options;
  options.weights = "q4_k_m";
  options.n_layer = 2;
  const std::string path = dir.file("smollm2-q4_k_m.gguf");
  models::write_synthetic_model(models::find_preset("smollm2-135m"), options, path);
  const gguf::GgufFile file = gguf::GgufFile::open(path);
  const auto type = [&](const std::string& name) { return std::string(dtype_name(file.tensor(name).type)); };
  CHECK(file.get_u32("general.file_type") == 15);
  CHECK(type("token_embd.weight") == "q8_0");    // the tied output: q6_k, rows of 576 -> q8_0
  CHECK(type("blk.0.attn_q.weight") == "q5_0");  // q4_k, rows of 576 -> q5_0
  CHECK(type("blk.0.attn_v.weight") == "q5_0");
  CHECK(type("blk.1.attn_v.weight") == "q8_0");  // more bits: q6_k -> q8_0
  CHECK(type("blk.0.ffn_up.weight") == "q5_0");
  CHECK(type("blk.0.ffn_down.weight") == "q4_k");  // rows of 1536 fill 6 super-blocks
  CHECK(type("blk.1.ffn_down.weight") == "q6_k");
  CHECK(type("blk.0.attn_norm.weight") == "f32");

  // It runs: the CPU backend decodes every one of these types.
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(path, *backend);
  const int32_t tokens[] = {1, 2, 3};
  const auto logits = testing::logits_per_position(*model, *backend, {tokens, tokens + 3});
  for (float v : logits.back()) REQUIRE(std::isfinite(v));
}
