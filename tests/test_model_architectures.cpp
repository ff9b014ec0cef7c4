// Every supported architecture end to end on Vulkan against the CPU backend, on synthetic
// models of each family's shape: qwen2 (q/k/v biases, NeoX RoPE), qwen3 (q/k norms), mistral
// (sliding window shorter than the prompt), llama (untied output), phi3 (fused attn_qkv and
// gate+up), Llama 3.1 (rope_freqs factors), gemma2 (soft-caps, GeGLU, post-norms, a window on
// alternate layers) and gemma3 (five local layers with their own RoPE base to one global), in
// f16 and quantized weights.

#include <catch2/catch_test_macros.hpp>

#include <fmt/format.h>
#include <cmath>
#include <numeric>

#include "closeness_checks.h"
#include "engine/backend/registry.h"
#include "models/model.h"
#include "models/session.h"
#include "models/synth/synth_model.h"
#include "temp_dir.h"
#include "vulkan_test_support.h"

using namespace vkgraph;

namespace {

// Logits of a 20-token prompt (all positions) then 4 decode steps, as rows.
std::vector<std::vector<float>> run_model(const std::string& path, const std::string& backend_name) {
  auto backend = create_backend(backend_name, "");
  auto model = models::Model::load(path, *backend);
  const auto n_vocab = size_t(model->hparams().n_vocab);
  models::Session session(*model, *backend);
  std::vector<int32_t> prompt(20);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 37 + 11) % n_vocab);
  const std::vector<float> flat = session.eval(prompt, true);
  std::vector<std::vector<float>> rows;
  for (size_t i = 0; i < prompt.size(); ++i) {
    rows.emplace_back(flat.begin() + std::ptrdiff_t(i * n_vocab), flat.begin() + std::ptrdiff_t((i + 1) * n_vocab));
  }
  for (int32_t step = 0; step < 4; ++step) {
    const int32_t one[] = {int32_t((step * 101 + 7) % n_vocab)};
    rows.push_back(session.eval(one));
  }
  return rows;
}

}  // namespace

TEST_CASE("synthetic models of every architecture match between Vulkan and the CPU backend", "[model][arch][vulkan]") {
  test::ValidationGuard guard;
  testing::TempDir dir;
  const struct {
    const char* preset;
    DType type;
  } variants[] = {
      {"test-llama", DType::F16},   {"test-qwen2", DType::F16},   {"test-qwen3", DType::F16},
      {"test-mistral", DType::F16}, {"test-qwen2", DType::Q8_0},  {"test-llama", DType::Q4_0},
      {"test-phi3", DType::F16},    {"test-llama3", DType::Q8_0}, {"test-gemma2", DType::F16},
      {"test-gemma3", DType::Q8_0},
  };
  for (const auto& v : variants) {
    DYNAMIC_SECTION(v.preset << " " << dtype_name(v.type)) {
      models::SynthOptions options;
      options.weights = std::string(dtype_name(v.type));
      const std::string path = dir.file(fmt::format("{}-{}.gguf", v.preset, dtype_name(v.type)));
      models::write_synthetic_model(models::find_preset(v.preset), options, path);
      const auto cpu = run_model(path, "cpu");
      const auto gpu = run_model(path, "vulkan");
      // Both sides read the same weights and keep an f16 KV cache; what differs is the order of
      // f32 accumulation, which stays far below 1e-6 relative. A Vulkan kernel that gets one
      // family's feature wrong (NeoX pairs, per-head q/k norms, the bias broadcast, the sliding
      // window) moves whole logits.
      CHECK_CLOSE(testing::nmse_close(gpu, cpu, 1e-6));
      // The logits are not degenerate: they vary across the vocabulary.
      const auto& last = cpu.back();
      const float spread = *std::max_element(last.begin(), last.end()) - *std::min_element(last.begin(), last.end());
      CHECK(spread > 0.1f);
    }
  }
}
