// GGUF files whose weights hold NaN or infinities: refused with an error naming the cause,
// never run into garbage. Norms, biases and quantized block scales are checked at every load;
// `--check-tensors` (LoadOptions::check_tensors) reads every value; what gets past the load (a
// NaN inside an f16/f32 matrix) is refused at the first step whose logits it reaches, naming
// the first op that produced a non-finite value and the weight behind it.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/core/blocks.h"
#include "engine/core/fp16.h"
#include "include/vkgraph.h"
#include "models/bundled/default_model.h"
#include "models/chat/chat_template.h"
#include "models/conversation.h"
#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_writer.h"
#include "models/model.h"
#include "models/sampler.h"
#include "models/session.h"
#include "models/weight_check.h"
#include "run_command.h"
#include "shared_files.h"
#include "temp_dir.h"
#include "vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

// A copy of `in` with one tensor's bytes changed by `edit`.
std::string write_edited(const std::string& in, const std::string& out, const std::string& tensor,
                         const std::function<void(std::vector<std::byte>&)>& edit) {
  const gguf::GgufFile file = gguf::GgufFile::open(in);
  gguf::GgufWriter writer(file.alignment());
  for (const gguf::MetadataEntry& e : file.metadata()) writer.set(e.key, e.value);
  bool found = false;
  for (const gguf::TensorInfo& t : file.tensors()) {
    const auto data = file.data(t);
    std::vector<std::byte> bytes(data.begin(), data.end());
    if (t.name == tensor) {
      edit(bytes);
      found = true;
    }
    writer.add_tensor(t.name, t.type, t.shape, std::move(bytes));
  }
  REQUIRE(found);
  writer.write(out);
  return out;
}

void set_f32(std::vector<std::byte>& bytes, size_t element, float value) {
  std::memcpy(bytes.data() + element * sizeof(float), &value, sizeof(float));
}

constexpr float nan_value = std::numeric_limits<float>::quiet_NaN();
constexpr float inf_value = std::numeric_limits<float>::infinity();

// stories260K (all f32) with one NaN inside blk.2.ffn_up.weight ([172, 64]): row 1, column 36.
std::string nan_in_matrix(const testing::TempDir& dir) {
  return write_edited(models::default_model_path(), dir.file("nan-matrix.gguf"), "blk.2.ffn_up.weight",
                      [](std::vector<std::byte>& b) { set_f32(b, 100, nan_value); });
}

}  // namespace

TEST_CASE("non-finite weights: a NaN in a norm is refused at load, naming the tensor and the element",
          "[model][nonfinite]") {
  testing::TempDir dir;
  const std::string path =
      write_edited(models::default_model_path(), dir.file("nan-norm.gguf"), "blk.1.attn_norm.weight",
                   [](std::vector<std::byte>& b) { set_f32(b, 7, nan_value); });
  auto backend = create_backend("cpu", "");
  CHECK_THROWS_WITH(models::Model::load(path, *backend),
                    ContainsSubstring(path) && ContainsSubstring("tensor 'blk.1.attn_norm.weight' (f32)") &&
                        ContainsSubstring("holds 1 non-finite value (the first, nan, at element 7)"));
}

TEST_CASE("non-finite weights: an infinite Q8_0 block scale is refused at load, naming the tensor and the block",
          "[model][nonfinite]") {
  testing::TempDir dir;
  // Block 3 of blk.2.ffn_up.weight: its f16 scale d (the block's first two bytes) set to +inf.
  const std::string path = write_edited(testing::shared_file("models/tiny-gqa-q8_0.gguf"), dir.file("inf-scale.gguf"),
                                        "blk.2.ffn_up.weight", [](std::vector<std::byte>& b) {
                                          const uint16_t inf_half = float_to_half(inf_value);
                                          std::memcpy(b.data() + 3 * sizeof(BlockQ8_0), &inf_half, 2);
                                        });
  auto backend = create_backend("cpu", "");
  CHECK_THROWS_WITH(models::Model::load(path, *backend),
                    ContainsSubstring("tensor 'blk.2.ffn_up.weight' (q8_0)") &&
                        ContainsSubstring("holds 1 non-finite block scale (the first, inf, of block 3)"));
}

TEST_CASE("non-finite weights: the load-time scan reads every quantized type's float scales, and only them",
          "[model][nonfinite]") {
  // Byte offsets of the f16 floats in one block, from ggml's block layouts (ggml-common.h), not
  // from engine/core/blocks.h: a table entry at the wrong offset misses an infinite scale, or
  // reads quants as a scale and refuses a valid file.
  struct Layout {
    DType type;
    std::vector<size_t> floats;
  };
  const Layout layouts[] = {
      {DType::Q8_0, {0}},    {DType::Q4_0, {0}},    {DType::Q4_1, {0, 2}},   {DType::Q5_0, {0}},
      {DType::Q5_1, {0, 2}}, {DType::IQ4_NL, {0}},  {DType::Q2_K, {80, 82}}, {DType::Q3_K, {108}},
      {DType::Q4_K, {0, 2}}, {DType::Q5_K, {0, 2}}, {DType::Q6_K, {208}},    {DType::IQ4_XS, {0}},
  };
  constexpr uint16_t inf_half = 0x7c00, nan_half = 0xffff;
  for (const Layout& layout : layouts) {
    const DTypeInfo& info = dtype_info(layout.type);
    INFO(dtype_name(layout.type));
    const size_t n_blocks = 3, elements = n_blocks * info.block_elements;
    // Every byte but the floats 0xff: as an f16, that is NaN wherever a scan reads a non-float.
    std::vector<std::byte> data(n_blocks * info.block_bytes, std::byte{0xff});
    for (size_t b = 0; b < n_blocks; ++b) {
      for (size_t offset : layout.floats) std::memset(data.data() + b * info.block_bytes + offset, 0, 2);
    }
    CHECK_FALSE(models::scan_scales(layout.type, data, elements).has_value());
    for (size_t offset : layout.floats) {
      std::vector<std::byte> bad = data;
      std::memcpy(bad.data() + 1 * info.block_bytes + offset, offset == layout.floats.back() ? &nan_half : &inf_half,
                  2);
      const auto found = models::scan_scales(layout.type, bad, elements);
      REQUIRE(found.has_value());
      CHECK(found->in_scales);  // read as scales, not by the full decode
      CHECK(found->count == 1);
      CHECK(found->first == 1);
    }
  }
}

TEST_CASE("non-finite weights: --check-tensors refuses a NaN inside an f32 matrix at load", "[model][nonfinite]") {
  testing::TempDir dir;
  const std::string path = nan_in_matrix(dir);
  auto backend = create_backend("cpu", "");
  models::LoadOptions options;
  options.check_tensors = true;
  CHECK_THROWS_WITH(models::Model::load(path, *backend, options),
                    ContainsSubstring("tensor 'blk.2.ffn_up.weight' (f32)") &&
                        ContainsSubstring("holds 1 non-finite value (the first, nan, at element 100)"));
  // Without the full scan the matrix loads (only its first step will tell).
  CHECK_NOTHROW(models::Model::load(path, *backend));
}

namespace {

// A NaN in an f32 matrix gets past the cheap load checks; the first step's logits are then
// refused, naming the op that first produced a non-finite value and the weight behind it.
void check_first_step_refused(const std::string& backend_name) {
  testing::TempDir dir;
  const std::string path = nan_in_matrix(dir);
  auto backend = create_backend(backend_name, "");
  const auto model = models::Model::load(path, *backend);
  models::Session session(*model, *backend, models::SessionOptions{64});
  const int32_t tokens[] = {1, 403, 407};
  try {
    session.eval(tokens);
    FAIL("non-finite logits were returned");
  } catch (const models::NonFiniteLogits& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK_THAT(message, ContainsSubstring("the logits of token 2 are not finite"));
    // The op and the weight: the ffn_up product of layer 2 is the first to go non-finite.
    CHECK_THAT(message, ContainsSubstring("op matmul '") &&
                            ContainsSubstring("is the first to produce a non-finite value") &&
                            ContainsSubstring("weight 'blk.2.ffn_up.weight' [172, 64] f32 holds 1 non-finite value "
                                              "(the first, nan, at element 100)"));
    CHECK_THAT(message, ContainsSubstring("--check-tensors") && ContainsSubstring("the context was reset"));
  }
  CHECK(session.n_past() == 0);
}

}  // namespace

TEST_CASE("non-finite weights: the first step's NaN logits are refused naming the op and the weight on the CPU",
          "[model][nonfinite]") {
  check_first_step_refused("cpu");
}

TEST_CASE("non-finite weights: the first step's NaN logits are refused naming the op and the weight on Vulkan",
          "[model][nonfinite][vulkan]") {
  test::ValidationGuard guard;
  check_first_step_refused("vulkan");
}

TEST_CASE("non-finite weights: a chat turn that fails leaves the conversation in step with the reset context",
          "[model][nonfinite][chat]") {
  testing::TempDir dir;
  const std::string path = nan_in_matrix(dir);
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(path, *backend);
  models::Session session(*model, *backend, models::SessionOptions{128});
  models::Conversation chat(session, chat::ChatTemplate(chat::TemplateFamily::ChatML));
  models::SamplerParams greedy;
  greedy.temperature = 0;
  models::Sampler sampler(greedy);
  // Every turn is refused for what it is, the failed turns stay out of the conversation, and no
  // later turn trips over a cache the refusal emptied ("cannot keep ..." would).
  for (const char* text : {"Hi", "Hi again"}) {
    INFO(text);
    CHECK_THROWS_AS(chat.reply(text, sampler, 4, [](const std::string&) {}), models::NonFiniteLogits);
    CHECK(chat.messages().empty());
    CHECK(session.n_past() == 0);
  }
}

TEST_CASE("non-finite weights: vkgraph run names the cause, with and without --check-tensors",
          "[model][nonfinite][cli]") {
  testing::TempDir dir;
  const std::string path = nan_in_matrix(dir);
  const auto run =
      testing::run_vkgraph("run --backend cpu -n 4 -p 'Once upon a time' -m " + testing::shell_quote(path));
  CHECK(run.exit_code != 0);
  CHECK_THAT(run.err, ContainsSubstring("is the first to produce a non-finite value") &&
                          ContainsSubstring("'blk.2.ffn_up.weight'"));
  CHECK(run.out.find("Once upon a time") == std::string::npos);  // nothing generated from garbage
  const auto checked = testing::run_vkgraph("run --backend cpu --check-tensors -n 4 -p 'Once upon a time' -m " +
                                            testing::shell_quote(path));
  CHECK(checked.exit_code != 0);
  CHECK_THAT(checked.err, ContainsSubstring("tensor 'blk.2.ffn_up.weight' (f32) holds 1 non-finite value"));
}

TEST_CASE("non-finite weights: the C API returns VKGRAPH_ERR_MODEL naming the op, the context reset",
          "[model][nonfinite][capi]") {
  testing::TempDir dir;
  const std::string path = nan_in_matrix(dir);
  vkgraph_model_params mp = vkgraph_model_default_params();
  mp.backend = "cpu";
  vkgraph_model* model = nullptr;
  REQUIRE(vkgraph_model_load(path.c_str(), &mp, &model) == VKGRAPH_OK);
  vkgraph_context* ctx = nullptr;
  REQUIRE(vkgraph_context_create(model, nullptr, &ctx) == VKGRAPH_OK);
  const vkgraph_token tokens[] = {1, 403, 407};
  CHECK(vkgraph_eval(ctx, tokens, 3, nullptr) == VKGRAPH_ERR_MODEL);
  CHECK_THAT(std::string(vkgraph_last_error()), ContainsSubstring("'blk.2.ffn_up.weight'"));
  int32_t n_past = -1;
  REQUIRE(vkgraph_context_n_past(ctx, &n_past) == VKGRAPH_OK);
  CHECK(n_past == 0);
  REQUIRE(vkgraph_context_free(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
}
