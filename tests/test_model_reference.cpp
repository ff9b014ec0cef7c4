// Whole models against llama.cpp (../shared/reference), on the CPU backend and on Vulkan, two
// ways: the prompt as one batch (every position's logits, the prompt kernels), and the same
// tokens fed one at a time as decode steps (each step's logits against the reference's row for
// that position: the one-token kernels, fusions and split attention that generation runs).
// stories260K also reproduces llama.cpp's greedy continuations token for token.
//
// Adding a model is one line in `references` below. To choose its bounds, add the line with
// generous bounds and run `build/tests/vkgraph_tests "[reference]" -s`: the test prints each
// model's figures (NMSE of the prompt, of all decode steps together, and of the worst step).
// Set the bounds a few times above them, then put a bug in by hand (e.g. `pos[i] + 1` for the
// query in the CPU rope op) and check that the bounds fail it, as done for every line here.

#include <catch2/catch_test_macros.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "closeness_checks.h"
#include "engine/backend/registry.h"
#include "models/logits_dump.h"
#include "models/model.h"
#include "models/session.h"
#include "models/tokenizer/tokenizer.h"
#include "shared_files.h"
#include "vulkan_test_support.h"

using namespace vkgraph;

namespace {

// Which of llama.cpp's logits a model is compared with: the closer one to a correct float
// forward pass. Its CPU path rounds activations to 8 bits before Q8_0 (and K-quant) dot
// products and its Vulkan path mostly does not, so for Q8_0 the Vulkan file is closer; for
// F32, F16 and Q4_0 we land nearer its CPU file (reference/README.md, and the figures below).
enum class Against { cpu, vulkan };

struct ModelReference {
  const char* reference;  // file name under ../shared/reference/logits{,-vulkan}/
  const char* model;      // under ../shared/models
  Against against;
  double prompt_nmse;   // the prompt as one batch, all positions together
  double steps_nmse;    // every decode step together (the same positions, one token at a time)
  double step_nmse;     // each decode step on its own
  bool compare_greedy;  // the synthetic models' continuations repeat one token: not worth comparing
};

// Figures measured against the named reference (identical to 3 digits on CPU and Vulkan):
// prompt / all steps / worst step, then the same with a RoPE position off by one for the
// query (the bug each bound must catch; measured with the query's rotation at pos + 1):
//   stories260K-1..4 (F32)    1.0e-7 / 1.0e-7 / 1.6e-6     bug 2.9e-2 / 2.9e-2 / 0.22 at least
//   tiny-gqa-f16              2.7e-7 / 2.7e-7 / 3.3e-7     bug 4.5e-4 / 4.5e-4 / 1.3e-3
//   tiny-gqa-q8_0 (Vulkan)    7.4e-4 / 7.4e-4 / 3.3e-3     bug 0.74   / 0.74   / 1.5
//   tiny-gqa-q4_0             3.4e-6 / 3.4e-6 / 4.1e-6     bug 7.1e-6 / 7.1e-6 / 2.6e-5
//   tiny-k-f16                6.9e-7 / 6.9e-7 / 1.1e-6     bug 8.5e-4 / 8.5e-4 / 3.8e-3
//   tiny-qwen2-f16            5.0e-7 / 5.0e-7 / 1.0e-6     bug 4.1e-4 / 4.1e-4 / 1.6e-3
//   qwen3-vocab-q8_0 (CPU)    1.3e-4 / 1.3e-4 / 2.1e-4     bug 1.7e-2 / 1.7e-2 / 3.4e-2
// What the figures measure is mostly llama.cpp's own distance from the exact result: a float64
// forward pass of tiny-gqa-q4_0 lands at 3.4e-6 from its CPU logits, as we do, and our CPU and
// Vulkan backends (different kernels, different summation orders) agree to three digits. So a
// bound 1.5x above a figure still leaves room for every legitimate change of ours.
//
// tiny-gqa-q4_0 is the tight one: its logits barely depend on position, and llama.cpp's CPU
// error (3.4e-6, an exact float64 forward pass sits there too) is half of what the RoPE bug
// adds. Its prompt bound 5e-6 sits between the two (1.5x above ours, 1.4x below the bug) and
// its per-step bound 8e-6 twice ours and a third of the bug's worst step. Q8_0 is compared with
// llama.cpp's Vulkan logits: against its CPU ones (2.3e-3, 6.0e-3 worst step) the old bound of
// 3e-3 had 1.3x headroom. qwen3-vocab has no Vulkan file; its CPU figure is that path's 8-bit
// activations.
const ModelReference references[] = {
    {"stories260K-1.json", "stories260K.gguf", Against::cpu, 1e-6, 1e-6, 1e-5, true},
    {"stories260K-2.json", "stories260K.gguf", Against::cpu, 1e-6, 1e-6, 1e-5, true},
    {"stories260K-3.json", "stories260K.gguf", Against::cpu, 1e-6, 1e-6, 1e-5, true},
    {"stories260K-4.json", "stories260K.gguf", Against::cpu, 1e-6, 1e-6, 1e-5, true},
    {"tiny-gqa-f16.json", "tiny-gqa-f16.gguf", Against::cpu, 1e-6, 1e-6, 2e-6, false},
    {"tiny-gqa-q8_0.json", "tiny-gqa-q8_0.gguf", Against::vulkan, 3e-3, 3e-3, 1e-2, false},
    {"tiny-gqa-q4_0.json", "tiny-gqa-q4_0.gguf", Against::cpu, 5e-6, 5e-6, 8e-6, false},
    {"tiny-k-f16.json", "tiny-k-f16.gguf", Against::cpu, 3e-6, 3e-6, 5e-6, false},
    {"tiny-qwen2-f16.json", "tiny-qwen2-f16.gguf", Against::cpu, 2e-6, 2e-6, 5e-6, false},
    {"qwen3-vocab-q8_0.json", "qwen3-vocab-q8_0.gguf", Against::cpu, 5e-4, 5e-4, 1e-3, false},
};

std::string reference_path(const ModelReference& r) {
  return testing::shared_file(
      std::string(r.against == Against::vulkan ? "reference/logits-vulkan/" : "reference/logits/") + r.reference);
}

std::vector<std::vector<float>> rows_of(const std::vector<float>& flat, size_t n_rows, size_t n_vocab) {
  std::vector<std::vector<float>> rows(n_rows);
  for (size_t i = 0; i < n_rows; ++i)
    rows[i].assign(flat.begin() + std::ptrdiff_t(i * n_vocab), flat.begin() + std::ptrdiff_t((i + 1) * n_vocab));
  return rows;
}

void check_against_reference(const std::string& backend_name, const ModelReference& c) {
  const models::LogitsFile ref = models::read_logits_json(reference_path(c));
  auto backend = create_backend(backend_name, "");
  auto model = models::Model::load(testing::shared_file(std::string("models/") + c.model), *backend);
  const Tokenizer& tok = model->tokenizer();
  const size_t n_vocab = size_t(model->hparams().n_vocab);
  INFO(fmt::format("{} ({} logits) on {}", c.reference, c.against == Against::vulkan ? "Vulkan" : "CPU", backend_name));

  // The prompt tokenizes to the reference's ids (BOS first).
  CHECK(tok.encode(ref.prompt, tok.add_bos(), true) == ref.tokens);

  // The prompt in one batch.
  models::Session session(*model, *backend);
  const auto prompt = rows_of(session.eval(ref.tokens, true), ref.tokens.size(), n_vocab);
  const testing::Closeness prompt_close = testing::nmse_close(prompt, ref.logits, c.prompt_nmse);
  CHECK_CLOSE(prompt_close);

  // The same tokens as decode steps, each step's logits against the reference's row.
  models::Session stepwise(*model, *backend);
  std::vector<std::vector<float>> steps;
  double worst = 0.0;
  size_t worst_step = 0;
  for (size_t i = 0; i < ref.tokens.size(); ++i) {
    const int32_t one[] = {ref.tokens[i]};
    steps.push_back(stepwise.eval(one));
    const testing::Closeness step = testing::nmse_close(steps.back(), ref.logits[i], c.step_nmse);
    INFO("decode step " << i);
    CHECK_CLOSE(step);
    if (step.error > worst) {  // a failed step is reported above; this is for the summary line
      worst = step.error;
      worst_step = i;
    }
  }
  const testing::Closeness steps_close = testing::nmse_close(steps, ref.logits, c.steps_nmse);
  CHECK_CLOSE(steps_close);
  WARN(fmt::format("{} on {}: prompt NMSE {:.2g}, decode steps {:.2g}, worst step {:.2g} (step {})", c.reference,
                   backend_name, prompt_close.error, steps_close.error, worst, worst_step));

  if (c.compare_greedy) {
    // Decode one token at a time, as the reference did.
    std::vector<int32_t> greedy;
    std::vector<float> logits(prompt.back());
    for (size_t i = 0; i < ref.greedy.size(); ++i) {
      const auto next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      greedy.push_back(next);
      const int32_t one[] = {next};
      logits = session.eval(one);
    }
    CHECK(greedy == ref.greedy);
  }
}

}  // namespace

TEST_CASE("model logits and greedy tokens match llama.cpp on the CPU backend", "[model][reference]") {
  for (const ModelReference& c : references) {
    DYNAMIC_SECTION(c.reference) { check_against_reference("cpu", c); }
  }
}

TEST_CASE("model logits and greedy tokens match llama.cpp on Vulkan", "[model][reference][vulkan]") {
  test::ValidationGuard guard;
  for (const ModelReference& c : references) {
    DYNAMIC_SECTION(c.reference) { check_against_reference("vulkan", c); }
  }
}

// The same on CUDA where a device is present (scripts/gpu-check.sh runs it on an NVIDIA machine);
// skipped here with the reason.
TEST_CASE("model logits and greedy tokens match llama.cpp on CUDA", "[model][reference][cuda]") {
  const BackendAvailability cuda = backend_availability("cuda");
  if (!cuda.available) SKIP("CUDA unavailable: " << cuda.reason);
  for (const ModelReference& c : references) {
    DYNAMIC_SECTION(c.reference) { check_against_reference("cuda", c); }
  }
}
