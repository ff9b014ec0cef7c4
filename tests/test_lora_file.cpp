// LoRA adapter files that must be refused, each with a message naming the file and the key or
// tensor at fault (models/lora/lora_file.h), the alpha rule of a file without one, and BF16
// adapters converted while loading without changing a value.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "models/lora/lora_adapter.h"
#include "models/lora/lora_file.h"
#include "tests/lora_test_support.h"
#include "tests/shared_files.h"
#include "tests/temp_dir.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;
using testing::AdapterTensor;

namespace {

// stories260K: dim 64, 5 layers, 4 KV heads of 8 (k and v have 32 rows), FFN 172.
std::vector<AdapterTensor> q_pair(int64_t rank = 4, const std::string& base = "blk.0.attn_q.weight") {
  return {{base + ".lora_a", {rank, 64}}, {base + ".lora_b", {64, rank}}};
}

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<Backend> backend = create_backend("cpu", "");
  std::unique_ptr<models::Model> model = models::Model::load(testing::shared_file("models/stories260K.gguf"), *backend);

  // The error loading `tensors` as an adapter gives ("" when it loads).
  std::string error_of(const std::vector<AdapterTensor>& tensors, const std::string& arch = "llama",
                       std::optional<float> alpha = 8.0f, const std::string& general_type = "adapter",
                       const std::string& adapter_type = "lora") {
    const std::string path = dir.file("adapter.gguf");
    testing::write_adapter(path, tensors, arch, alpha, general_type, adapter_type);
    return error_loading(path);
  }
  std::string error_loading(const std::string& path) {
    try {
      models::LoraAdapter::load(path, *model, *backend);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

}  // namespace

TEST_CASE("LoRA adapters that do not fit the model are refused, naming the tensor", "[lora][gguf]") {
  Fixture f;
  REQUIRE(f.error_of(q_pair()).empty());

  SECTION("a model file is not an adapter") {
    CHECK_THAT(f.error_loading(testing::shared_file("models/stories260K.gguf")),
               ContainsSubstring("not a LoRA adapter: it has no general.type"));
  }
  SECTION("general.type and adapter.type") {
    CHECK_THAT(f.error_of(q_pair(), "llama", 8.0f, "model"),
               ContainsSubstring("general.type is 'model', expected 'adapter'"));
    CHECK_THAT(f.error_of(q_pair(), "llama", 8.0f, "adapter", "control_vector"),
               ContainsSubstring("adapter.type is 'control_vector'; only 'lora'"));
  }
  SECTION("another architecture") {
    CHECK_THAT(f.error_of(q_pair(), "qwen2"),
               ContainsSubstring("the adapter is for architecture 'qwen2' but the model is 'llama'"));
  }
  SECTION("a shape that differs names the tensor and both shapes") {
    // B with 32 rows for attn_q's 64 (a pair meant for attn_k).
    const std::string e =
        f.error_of({{"blk.0.attn_q.weight.lora_a", {4, 64}}, {"blk.0.attn_q.weight.lora_b", {32, 4}}});
    CHECK_THAT(e, ContainsSubstring("'blk.0.attn_q.weight.lora_b' is [32, 4]"));
    CHECK_THAT(e, ContainsSubstring("'blk.0.attn_q.weight' is [64, 64]"));
    CHECK_THAT(e, ContainsSubstring("expected [4, 64] and [64, 4]"));
  }
  SECTION("a tensor the model does not have is named") {
    CHECK_THAT(f.error_of(q_pair(4, "blk.9.attn_q.weight")),
               ContainsSubstring("'blk.9.attn_q.weight.lora_a' adapts 'blk.9.attn_q.weight', which the model does "
                                 "not have"));
  }
  SECTION("A and B of different ranks") {
    CHECK_THAT(f.error_of({{"blk.0.attn_q.weight.lora_a", {4, 64}}, {"blk.0.attn_q.weight.lora_b", {64, 8}}}),
               ContainsSubstring("disagrees on the rank: 'blk.0.attn_q.weight.lora_a' is [4, 64] (rank 4) but "
                                 "'blk.0.attn_q.weight.lora_b' is [64, 8] (rank 8)"));
  }
  SECTION("a half pair, a foreign tensor, vectors and the embedding") {
    CHECK_THAT(f.error_of({{"blk.0.attn_q.weight.lora_a", {4, 64}}}),
               ContainsSubstring("'blk.0.attn_q.weight.lora_a' has no 'blk.0.attn_q.weight.lora_b' to pair with"));
    CHECK_THAT(f.error_of({{"blk.0.attn_q.weight", {64, 64}}}),
               ContainsSubstring("tensor 'blk.0.attn_q.weight' is neither a '.lora_a' nor a '.lora_b' tensor"));
    CHECK_THAT(f.error_of(q_pair(4, "blk.0.attn_norm.weight")), ContainsSubstring("a vector of shape [64]"));
    CHECK_THAT(f.error_of({{"token_embd.weight.lora_a", {4, 64}}, {"token_embd.weight.lora_b", {512, 4}}}),
               ContainsSubstring("adapts the token embedding 'token_embd.weight'"));
  }
  SECTION("alpha must be a finite number") {
    CHECK_THAT(f.error_of(q_pair(), "llama", std::numeric_limits<float>::quiet_NaN()),
               ContainsSubstring("adapter.lora.alpha is nan, expected a finite number"));
    CHECK_THAT(f.error_of(q_pair(), "llama", std::numeric_limits<float>::infinity()),
               ContainsSubstring("adapter.lora.alpha is inf"));
  }
  SECTION("types other than f32, f16, bf16, q8_0 and q4_0 are refused with the type's name") {
    const std::string e = f.error_of(
        {{"blk.0.attn_q.weight.lora_a", {4, 64}, DType::Q5_0}, {"blk.0.attn_q.weight.lora_b", {64, 4}, DType::F16}});
    CHECK_THAT(e, ContainsSubstring("tensor 'blk.0.attn_q.weight.lora_a' is q5_0"));
  }
}

TEST_CASE("BF16 adapters load without changing a value: f16 when exact, f32 otherwise", "[lora][gguf]") {
  Fixture f;
  // 2^-7: a bf16 and an f16 value. 2^-20: a bf16 value below f16's normal range, where f16 keeps
  // fewer bits (rounded to a multiple of 2^-24 it is still exact: use 2^-20 + 2^-27, which is not).
  const float in_f16 = 0.0078125f, below_f16 = std::ldexp(1.0f, -20) + std::ldexp(1.0f, -27);
  const auto load = [&](float b_value, DType a_type, DType b_type) {
    const std::string path =
        f.dir.file(fmt::format("adapter-{}-{}-{}.gguf", dtype_name(a_type), dtype_name(b_type), b_value));
    testing::write_adapter(path, {{"blk.0.attn_q.weight.lora_a", {4, 64}, a_type, in_f16},
                                  {"blk.0.attn_q.weight.lora_b", {64, 4}, b_type, b_value}});
    return models::LoraAdapter::load(path, *f.model, *f.backend);
  };
  const auto exact = load(in_f16, DType::BF16, DType::BF16);
  const models::LoraPair* p = exact->find("blk.0.attn_q.weight");
  REQUIRE(p != nullptr);
  CHECK(p->a.dtype == DType::F16);
  CHECK(p->b.dtype == DType::F16);  // an f16 B: fused into the decode mat-vecs like any f16 adapter
  const auto wide = load(below_f16, DType::BF16, DType::BF16);
  CHECK(wide->find("blk.0.attn_q.weight")->a.dtype == DType::F16);
  CHECK(wide->find("blk.0.attn_q.weight")->b.dtype == DType::F32);

  // The same logits as files holding the same values in the types they were converted to.
  const std::vector<int32_t> prompt{1, 403, 407};
  const auto logits = [&](std::shared_ptr<const models::LoraAdapter> adapter) {
    models::Session session(*f.model, *f.backend);
    session.set_adapters({{std::move(adapter), 1.0f}});
    return session.eval(prompt);
  };
  CHECK(logits(exact) == logits(load(in_f16, DType::F16, DType::F16)));
  CHECK(logits(wide) == logits(load(below_f16, DType::F16, DType::F32)));
}

TEST_CASE("LoRA factor: alpha / r times the scale, the scale alone without alpha", "[lora]") {
  // llama.cpp reads a missing adapter.lora.alpha as 0 and then uses the user's scale alone
  // (alpha = r). The factors below are exact in f32.
  CHECK(models::lora_factor(0.5f, 16.0f, 8) == 1.0f);
  CHECK(models::lora_factor(1.0f, 8.0f, 4) == 2.0f);
  CHECK(models::lora_factor(0.75f, std::nullopt, 8) == 0.75f);
  CHECK(models::lora_factor(0.0f, 16.0f, 8) == 0.0f);

  Fixture f;
  const std::string path = f.dir.file("no-alpha.gguf");
  testing::write_adapter(path, q_pair(), "llama", std::nullopt);
  CHECK_FALSE(models::LoraFile::open(path).alpha().has_value());
  testing::write_adapter(path, q_pair(), "llama", 0.0f);  // zero is "absent" too, as in llama.cpp
  CHECK_FALSE(models::LoraFile::open(path).alpha().has_value());
  testing::write_adapter(path, q_pair(), "llama", 8.0f);
  CHECK(models::LoraFile::open(path).alpha() == 8.0f);
}
