// The projection helper (models/arch/projection.h) and the fusion of its adapters into low-rank
// tails (engine/graph/pass_fusion.cpp): two adapters add exactly their two effects on every
// backend, a tail computes on the CPU exactly what the unfused ops compute, and a decode step
// with an adapter on every matrix costs one dispatch more per group of matrices that read one x.

#include <catch2/catch_test_macros.hpp>

#include <fmt/format.h>

#include <algorithm>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/registry.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/executable_vulkan.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/graph/plan.h"
#include "engine/testing/case_data.h"
#include "engine/testing/op_cases.h"
#include "models/arch/projection.h"
#include "models/arch/step_graph.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"
#include "tests/lora_test_support.h"
#include "tests/shared_files.h"
#include "tests/temp_dir.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

// Small integers in [-3, 3], exact in f16 and in every f32 sum below: |w x| <= 3 * 3 * 64 and
// the adapters' products stay far under 2^24, so every backend gets exactly the same numbers in
// any order of summation.
std::vector<float> integers(size_t n, int seed) {
  std::vector<float> v(n);
  uint32_t state = 2654435761u * uint32_t(seed + 1);
  for (float& f : v) {
    state = state * 1664525u + 1013904223u;  // a linear congruential step: any spread will do
    f = float(int((state >> 16) % 7) - 3);
  }
  return v;
}

models::WeightTensor upload(Backend& backend, const std::string& name, DType type, Shape shape,
                            const std::vector<float>& values) {
  const std::vector<std::byte> bytes = testing::encode(type, values, size_t(shape.back()));
  return models::WeightTensor{name, type, std::move(shape), backend.upload(bytes)};
}

}  // namespace

// Exact "sum of effects": y(both) - y(none) == (y(1) - y(none)) + (y(2) - y(none)). At the
// level of one projection, where nothing non-linear follows, with integer data every backend
// computes these exactly, so any term lost, doubled or scaled wrongly shows as a difference.
// Adapter 1 is f16 (fused into a tail for one token), adapter 2 f32 (always separate ops).
TEST_CASE("two LoRA adapters on one projection add exactly their two effects", "[lora][fusion][vulkan]") {
  test::ValidationGuard guard;
  constexpr int64_t n_in = 64, n_out = 24, r1 = 8, r2 = 4;
  for (const char* name : {"cpu", "vulkan"}) {
    for (const int64_t m : {int64_t(1), int64_t(3)}) {
      INFO(fmt::format("{}, {} token(s)", name, m));
      auto backend = create_backend(name, "");
      const models::WeightTensor w = upload(*backend, "w", DType::F16, {n_out, n_in}, integers(n_out * n_in, 1));
      std::map<std::string, models::LoraPair> p1, p2;
      p1["w"] = {upload(*backend, "a1", DType::F16, {r1, n_in}, integers(r1 * n_in, 2)),
                 upload(*backend, "b1", DType::F16, {n_out, r1}, integers(n_out * r1, 3))};
      p2["w"] = {upload(*backend, "a2", DType::F32, {r2, n_in}, integers(r2 * n_in, 4)),
                 upload(*backend, "b2", DType::F32, {n_out, r2}, integers(n_out * r2, 5))};
      // alpha = 2 r: factors 2 * scale, exact.
      const auto one = models::LoraAdapter::from_pairs("one", nullptr, 2.0f * r1, p1);
      const auto two = models::LoraAdapter::from_pairs("two", nullptr, 2.0f * r2, p2);
      const std::vector<float> x = integers(size_t(m * n_in), 6);

      const auto run = [&](std::vector<models::AdapterUse> uses) {
        Graph g;
        const TensorId xi = g.input("x", DType::F32, {m, n_in});
        const TensorId y = models::project(g, w, xi, uses);
        g.mark_output(y);
        const Plan plan = Plan::build(g);
        auto exe = backend->prepare(plan);
        exe->set_input(xi, bytes_of(x));
        exe->run();
        std::vector<float> out(size_t(m * n_out));
        exe->read_output(y, std::as_writable_bytes(std::span<float>(out)));
        return out;
      };
      const std::vector<float> none = run({}), y1 = run({{one, 0.5f}}), y2 = run({{two, 1.5f}});
      const std::vector<float> both = run({{one, 0.5f}, {two, 1.5f}});
      CHECK(y1 != none);
      CHECK(y2 != none);
      for (size_t i = 0; i < none.size(); ++i) {
        INFO("element " << i);
        CHECK(both[i] - none[i] == (y1[i] - none[i]) + (y2[i] - none[i]));
      }
    }
  }
}

namespace {

// tiny-k (4 layers, dim 256, 2 KV heads of 64, FFN 768) with an f16 rank-8 adapter on some of
// its matrices, written here.
std::vector<testing::AdapterTensor> tiny_k_pairs(const std::vector<std::string>& targets) {
  std::vector<testing::AdapterTensor> t;
  for (int il = 0; il < 4; ++il) {
    for (const std::string& target : targets) {
      const int64_t n_out = target == "attn_k" || target == "attn_v"     ? 128
                            : target == "ffn_gate" || target == "ffn_up" ? 768
                                                                         : 256;
      const int64_t n_in = target == "ffn_down" ? 768 : 256;
      const std::string base = fmt::format("blk.{}.{}.weight", il, target);
      t.push_back({base + ".lora_a", {8, n_in}, DType::F16, 0.01f});
      t.push_back({base + ".lora_b", {n_out, 8}, DType::F16, 0.02f});
    }
  }
  return t;
}

}  // namespace

TEST_CASE("LoRA decode steps: no dispatch of their own on Vulkan, one per group of matrices of one x elsewhere",
          "[lora][fusion]") {
  testing::TempDir dir;
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(testing::shared_file("models/tiny-k-f16.gguf"), *backend);
  const models::KvStorage kv = models::allocate_kv(model->hparams(), *backend, 8);
  // Vulkan's fused ops (every one, rms_norm_low_rank included) or those of the backends without
  // rms_norm_low_rank (CPU, CUDA); no fusion at all.
  enum class Fusion { all, without_low_rank_norm, none };
  const auto steps = [&](const std::vector<models::AdapterUse>& uses, Fusion fusion) {
    models::StepShape shape;
    const models::StepGraph step = models::build_step_graph(model->hparams(), model->weights(), kv, shape, uses);
    PlanOptions options;
    options.fuse = fusion != Fusion::none;
    if (fusion == Fusion::without_low_rank_norm) options.fused_ops = fused_op_kinds_except(OpKind::rms_norm_low_rank);
    return Plan::build(step.graph, options);
  };
  const auto count = [](const Plan& plan, auto&& predicate) {
    size_t n = 0;
    for (const Step& s : plan.steps()) n += predicate(plan.graph().node(s.node)) ? 1 : 0;
    return n;
  };
  const auto tailed = [](const Node& n) { return n.params.tails.mask != 0; };
  const auto low_rank_norm = [](const Node& n) { return n.op == OpKind::rms_norm_low_rank; };
  const size_t base = steps({}, Fusion::all).steps().size();
  REQUIRE(steps({}, Fusion::without_low_rank_norm).steps().size() == base);  // nothing to fold without an adapter
  const int64_t layers = model->hparams().n_layer;

  SECTION("every matrix of every layer") {
    const std::string path = dir.file("all.gguf");
    testing::write_adapter(
        path, tiny_k_pairs({"attn_q", "attn_v", "attn_k", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}), "llama",
        16.0f);
    const auto lora = models::LoraAdapter::load(path, *model, *backend);
    // Each RMSNorm computes the A products of the matrices that read its result (q/k/v, gate/up)
    // and adds the delta of the projection whose residual sum it normalizes (o before the FFN's
    // norm, down before the next layer's or the output norm): the step runs the base's dispatches
    // and no other; the B products of q/k/v and gate/up stay tails of their fused mat-vecs.
    const Plan plan = steps({{lora, 1.0f}}, Fusion::all);
    CHECK(plan.steps().size() == base);
    CHECK(count(plan, low_rank_norm) == size_t(2 * layers + 1));
    CHECK(count(plan, tailed) == size_t(2 * layers));  // qkv cat, gate/up swiglu
    // Without rms_norm_low_rank, q/k/v, o, gate/up and down each read one x: their A products
    // are one dispatch per group (a matmul_cat or a matmul), their B products tails.
    const Plan elsewhere = steps({{lora, 1.0f}}, Fusion::without_low_rank_norm);
    CHECK(elsewhere.steps().size() == base + size_t(4 * layers));
    CHECK(count(elsewhere, tailed) == size_t(4 * layers));  // qkv cat, o matmul_add, gate/up swiglu, down matmul_add
    CHECK(count(elsewhere, low_rank_norm) == 0);
    // Unfused, the same step is 4 extra ops per adapted matrix (A, B, scale, add), and the base's
    // own fusions are lost.
    CHECK(steps({{lora, 1.0f}}, Fusion::none).steps().size() > base + size_t(4 * 7 * layers));
  }
  SECTION("q and v only (PEFT's default for llama)") {
    const std::string path = dir.file("qv.gguf");
    testing::write_adapter(path, tiny_k_pairs({"attn_q", "attn_v"}), "llama", 16.0f);
    const auto lora = models::LoraAdapter::load(path, *model, *backend);
    const Plan plan = steps({{lora, 1.0f}}, Fusion::all);
    CHECK(plan.steps().size() == base);
    CHECK(count(plan, low_rank_norm) == size_t(layers));  // the attention norms, which take q's and v's A
    CHECK(steps({{lora, 1.0f}}, Fusion::without_low_rank_norm).steps().size() == base + size_t(layers));
  }
}

// On the reference backend a tail sums exactly what the unfused matmul, scale and add give
// (cpu_ops_matmul.cpp), so the fused and unfused decode steps of a whole model agree bit for bit.
TEST_CASE("LoRA tails compute exactly the unfused ops on the CPU backend", "[lora][fusion]") {
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(testing::shared_file("models/tiny-k-f16.gguf"), *backend);
  const auto lora = models::LoraAdapter::load(testing::shared_file("models/tiny-k-lora-f16.gguf"), *model, *backend);
  const std::vector<models::AdapterUse> uses{{lora, 0.5f}};
  const auto logits = [&](bool fuse) {
    const models::KvStorage kv = models::allocate_kv(model->hparams(), *backend, 4);
    const models::StepGraph step = models::build_step_graph(model->hparams(), model->weights(), kv, {}, uses);
    PlanOptions options = backend->plan_options();
    options.fuse = fuse;
    auto exe = backend->prepare(Plan::build(step.graph, options));
    const std::vector<int32_t> token{77}, pos{0}, kv_pos{0, -1, -1, -1};
    exe->set_input(step.tokens, bytes_of(token));
    exe->set_input(step.positions, bytes_of(pos));
    exe->set_input(step.slots, bytes_of(pos));
    exe->set_input(step.kv_pos, bytes_of(kv_pos));
    exe->run();
    std::vector<float> out(size_t(model->hparams().n_vocab));
    exe->read_output(step.logits, std::as_writable_bytes(std::span<float>(out)));
    return out;
  };
  CHECK(logits(true) == logits(false));
}

namespace {

// The low-rank tail op cases (engine/testing/cases_low_rank.cpp) of `weights` on the test
// device with the kernels `force` names (the table's choice when empty), each against the CPU
// reference.
void check_tail_cases(const std::vector<std::string>& force, const std::vector<std::string>& weights, size_t cases) {
  auto ctx = test::vulkan_context();
  vk::ForcedKernels forced(force);
  vk::VulkanBackend vulkan(ctx);
  cpu::CpuBackend cpu;
  size_t ran = 0;
  for (const testing::OpCase& c : testing::op_cases()) {
    if (c.name.find(" tail ") == std::string::npos) continue;
    if (std::none_of(weights.begin(), weights.end(),
                     [&](const std::string& w) { return c.name.find(" w=" + w + " ") != std::string::npos; })) {
      continue;
    }
    ++ran;
    test::ValidationGuard guard;
    const testing::CaseResult result = testing::run_op_case(c, vulkan, cpu);
    INFO(testing::format_case_result(result));
    CHECK(result.error.empty());
    CHECK(result.passed);
  }
  CHECK(ran == cases);
}

// The variants forced below cover f16 and q4_0 weights only: the tail is the same code for every
// weight type (the weight decoding is the plain kernels', tested in test_matmul_kernels.cpp), and
// each variant costs a pipeline compiled on first use (seconds on a CPU driver), in CI's cold
// cache too.
const std::vector<std::string> kForcedWeights{"f16", "q4_0"};

std::vector<std::string> tail_shaders(const std::string& kernel, const std::string& when) {
  std::vector<std::string> names;
  for (const char* form : {"", "add_", "cat_", "swiglu_"}) {
    for (const std::string& w : kForcedWeights) {
      names.push_back("matmul/" + kernel + "_" + form + "tail_" + w + "_f32" + when);
    }
  }
  return names;
}

}  // namespace

TEST_CASE("LoRA tail kernels of every device class match the CPU reference", "[lora][fusion][vulkan]") {
  auto ctx = test::vulkan_context();
  // 11 cases per weight type: 6 single matrices (plain and with a residual), 3 cat, 2 swiglu.
  SECTION("the table's choice here") { check_tail_cases({}, {"f32", "f16", "q8_0", "q4_0"}, 44); }
  SECTION("the shared-memory mat-vec (devices without subgroup shuffles)") {
    check_tail_cases(tail_shaders("matvec", ""), kForcedWeights, 22);
  }
  SECTION("the GPU row kernel (8 lanes per row)") {
    if (ctx->info().subgroup_size < 8 || !(ctx->info().subgroup_ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT)) {
      SKIP("the test device has no subgroup shuffles over 8 invocations");
    }
    check_tail_cases(tail_shaders("rows", "@gpu"), kForcedWeights, 22);
  }
}

// rms_norm_low_rank (the norm with the adapters' A products and the delta of the projection whose
// residual sum it normalizes) against the unfused ops on the CPU reference, with each row forced:
// a low-rank row per invocation (CPU-class devices) and the workgroup's lanes split over each row
// (GPUs; shared memory only, so the test device runs it too).
TEST_CASE("the LoRA norm kernel of every device class matches the CPU reference", "[lora][fusion][vulkan]") {
  auto ctx = test::vulkan_context();
  for (const std::string row : {"norm/rms_norm_low_rank_f32@cpu", "norm/rms_norm_low_rank_f32@gpu"}) {
    INFO(row);
    vk::ForcedKernels forced({row});
    vk::VulkanBackend vulkan(ctx);
    cpu::CpuBackend cpu;
    size_t ran = 0;
    for (const testing::OpCase& c : testing::op_cases()) {
      if (c.op != "rms_norm_low_rank") continue;
      ++ran;
      test::ValidationGuard guard;
      testing::RunCaseOptions options;
      bool row_ran = false;
      options.inspect = [&](const Executable& exe) {
        for (const vk::Dispatch& d : dynamic_cast<const vk::VulkanExecutable&>(exe).dispatches()) {
          row_ran = row_ran || vk::kernel_row_name(*d.kernel) == row;
        }
      };
      const testing::CaseResult result = testing::run_op_case(c, vulkan, cpu, options);
      INFO(testing::format_case_result(result));
      CHECK(result.error.empty());
      CHECK(result.passed);
      CHECK(row_ran);
    }
    CHECK(ran == 6);  // engine/testing/cases_low_rank.cpp: norm_shapes
  }
}
