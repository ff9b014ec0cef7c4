// LoRA adapters reach every family's builder: each family's step graph goes through the one
// projection helper (models/arch/projection.h, forwarded to by arch::StepBuilder::project), so an
// adapter on a projection adds its two low-rank products to that projection whatever the
// architecture. Phi-3's fused matrices (attn_qkv, gate+up ffn_up) are uploaded as row ranges, so
// an adapter of the fused tensor has no projection to reach: it is refused at load, by name.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <fmt/format.h>

#include <algorithm>

#include "engine/backend/registry.h"
#include "models/arch/step_graph.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"
#include "tests/lora_test_support.h"
#include "tests/shared_files.h"
#include "tests/temp_dir.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

size_t matmul_count(const Graph& g) {
  return size_t(
      std::count_if(g.nodes().begin(), g.nodes().end(), [](const Node& n) { return n.op == OpKind::matmul; }));
}

// An adapter of rank 4 on layer 0's attn_output and ffn_down of `hp`'s shapes (matrices every
// family has unfused).
std::vector<testing::AdapterTensor> output_and_down_pairs(const models::Hparams& hp) {
  const int64_t r = 4, q = hp.n_head * hp.head_dim;
  return {
      {"blk.0.attn_output.weight.lora_a", {r, q}, DType::F16, 0.01f},
      {"blk.0.attn_output.weight.lora_b", {hp.n_embd, r}, DType::F16, 0.02f},
      {"blk.0.ffn_down.weight.lora_a", {r, hp.n_ff}, DType::F16, 0.01f},
      {"blk.0.ffn_down.weight.lora_b", {hp.n_embd, r}, DType::F16, 0.02f},
  };
}

}  // namespace

TEST_CASE("LoRA adapters reach the projections of every family's builder", "[lora][families]") {
  testing::TempDir dir;
  auto backend = create_backend("cpu", "");
  // One file of each builder: llama (with rope_freqs), qwen2 (biases), qwen3 (q/k norms), phi3.
  for (const char* name : {"llama3-vocab-q8_0", "tiny-qwen2-f16", "qwen3-vocab-q8_0", "tiny-phi3-f16"}) {
    INFO(name);
    const auto model = models::Model::load(testing::shared_file(fmt::format("models/{}.gguf", name)), *backend);
    const models::Hparams& hp = model->hparams();
    const models::KvStorage kv = models::allocate_kv(hp, *backend, 8);
    const std::string path = dir.file(fmt::format("{}-lora.gguf", name));
    testing::write_adapter(path, output_and_down_pairs(hp), hp.arch, 8.0f);
    const auto lora = models::LoraAdapter::load(path, *model, *backend);
    const std::vector<models::AdapterUse> uses{{lora, 1.0f}};
    const size_t base = matmul_count(models::build_step_graph(hp, model->weights(), kv, {}).graph);
    // Two adapted matrices, each gaining A x and B (A x); nothing else changes.
    CHECK(matmul_count(models::build_step_graph(hp, model->weights(), kv, {}, uses).graph) == base + 4);
    // Scale 0 leaves the step as it is.
    const std::vector<models::AdapterUse> off{{lora, 0.0f}};
    CHECK(matmul_count(models::build_step_graph(hp, model->weights(), kv, {}, off).graph) == base);
  }
}

TEST_CASE("an adapter of Phi-3's fused attn_qkv is refused by name", "[lora][families]") {
  testing::TempDir dir;
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(testing::shared_file("models/tiny-phi3-f16.gguf"), *backend);
  const models::Hparams& hp = model->hparams();
  const int64_t qkv = (hp.n_head + 2 * hp.n_head_kv) * hp.head_dim;
  const std::string path = dir.file("phi3-qkv.gguf");
  testing::write_adapter(path,
                         {{"blk.0.attn_qkv.weight.lora_a", {4, hp.n_embd}, DType::F16, 0.01f},
                          {"blk.0.attn_qkv.weight.lora_b", {qkv, 4}, DType::F16, 0.02f}},
                         "phi3", 8.0f);
  CHECK_THROWS_WITH(models::LoraAdapter::load(path, *model, *backend),
                    ContainsSubstring("'blk.0.attn_qkv.weight'") && ContainsSubstring("fused"));
}
