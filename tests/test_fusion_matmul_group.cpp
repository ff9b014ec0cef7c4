// The decode fusions of several products of one x: q, k and v matmuls into one matmul_cat (their
// results become views), gate and up matmuls into swiglu as matmul_swiglu, and the q and k ropes
// over neighbouring ranges of a matmul_cat into one rope. When the pass applies and when it must
// not, that fused and unfused plans give the same values (CPU reference and Vulkan), and the
// dispatches per layer of smollm2-135m's decode step.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/graph/plan.h"
#include "engine/testing/case_data.h"
#include "engine/testing/op_cases.h"
#include "models/arch/step_graph.h"
#include "models/model.h"
#include "models/synth/presets.h"
#include "models/synth/synth_model.h"
#include "tests/op_case_support.h"
#include "tests/test_models_shared.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

PlanOptions unfused() {
  PlanOptions o;
  o.fuse = false;
  return o;
}

// An attention block's input side for `tokens` tokens: x -> q [.., 4 heads], k and v [.., 2 heads]
// of head_dim 32 (q4_0), q and k rotated, v read as is; and a feed-forward gate/up pair (q8_0)
// into swiglu. Outputs: rope(q) * 1, rope(k) * 1, v * 1, swiglu (the scales keep the ropes and v
// off the outputs, which own their buffers and are never turned into views).
testing::CaseGraph attention_and_ffn(Backend& backend, int64_t tokens) {
  constexpr int64_t n = 96, d = 32, n_ff = 65;
  testing::CaseRng rng(uint64_t(tokens) * 11 + 3);
  testing::CaseGraph g;
  Graph& gr = g.graph;
  const TensorId x = testing::add_float_input(g, "x", DType::F32, {tokens, n}, rng.floats(size_t(tokens * n)));
  std::vector<int32_t> pos(static_cast<size_t>(tokens));
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = int32_t(5 + i);
  const TensorId positions = testing::add_i32_input(g, "positions", pos);
  auto weight = [&](const char* name, DType type, int64_t rows) {
    return testing::add_weight(g, backend, name, type, {rows, n}, rng.floats(size_t(rows * n)));
  };
  const TensorId q = gr.matmul(weight("wq", DType::Q4_0, 4 * d), x);
  const TensorId k = gr.matmul(weight("wk", DType::Q4_0, 2 * d), x);
  const TensorId v = gr.matmul(weight("wv", DType::Q4_0, 2 * d), x);
  const RopeParams rope{RopeMode::normal, d, 10000.0f, 1.0f};
  const TensorId q_rot = gr.scale(gr.rope(gr.reshape(q, {tokens, 4, d}), positions, rope), 1.0f);
  const TensorId k_rot = gr.scale(gr.rope(gr.reshape(k, {tokens, 2, d}), positions, rope), 1.0f);
  const TensorId v_out = gr.scale(gr.reshape(v, {tokens, 2, d}), 1.0f);
  const TensorId gate = gr.matmul(weight("w_gate", DType::Q8_0, n_ff), x);
  const TensorId up = gr.matmul(weight("w_up", DType::Q8_0, n_ff), x);
  const TensorId ffn = gr.swiglu(gate, up);
  for (TensorId out : {q_rot, k_rot, v_out, ffn}) {
    gr.mark_output(out);
    g.outputs.push_back(out);
  }
  return g;
}

std::vector<std::vector<float>> run(Backend& backend, const testing::CaseGraph& cg, const PlanOptions& options) {
  const Plan plan = Plan::build(cg.graph, options);
  auto exe = backend.prepare(plan);
  for (const auto& [id, data] : cg.inputs) exe->set_input(id, data);
  exe->run();
  std::vector<std::vector<float>> outs;
  for (TensorId id : cg.outputs) {
    std::vector<float> out(size_t(element_count(plan.graph().node(id).shape)));
    exe->read_output(id, std::as_writable_bytes(std::span(out)));
    outs.push_back(std::move(out));
  }
  return outs;
}

// Runs the matmul_cat and matmul_swiglu op cases on the test device (odd row counts, every weight
// type, both activation types) with the kernels `force` names, against the CPU reference.
void check_fused_cases(const std::vector<std::string>& force, const char* variant) {
  vk::ForcedKernels forced(force);
  const size_t ran = test::check_op_cases_on_vulkan({"matmul_cat", "matmul_swiglu"}, variant);
  CHECK(ran >= 80);  // 4 weight types x 2 activation types x (cat and swiglu shapes)
}

const char* const kWeightActivation[] = {"f32_f32",  "f32_f16",  "f16_f32",  "f16_f16",
                                         "q8_0_f32", "q8_0_f16", "q4_0_f32", "q4_0_f16"};

}  // namespace

TEST_CASE("fusion turns one-token q k v matmuls into matmul_cat and gate up swiglu into matmul_swiglu",
          "[graph][passes]") {
  cpu::CpuBackend cpu;
  const testing::CaseGraph one = attention_and_ffn(cpu, 1);
  const Plan plan = Plan::build(one.graph);
  // matmul_cat (q, k, v), one rope for q and k, the three scales, matmul_swiglu.
  std::vector<OpKind> ops = test::step_ops(plan);
  std::sort(ops.begin(), ops.end());
  std::vector<OpKind> expected{OpKind::matmul_cat, OpKind::matmul_swiglu, OpKind::rope,
                               OpKind::scale,      OpKind::scale,         OpKind::scale};
  std::sort(expected.begin(), expected.end());
  CHECK(ops == expected);
  CHECK(Plan::build(one.graph, unfused()).steps().size() == 11);  // 5 matmuls, 2 ropes, 3 scales, swiglu

  for (const Step& s : plan.steps()) {
    const Node& n = plan.graph().node(s.node);
    if (n.op == OpKind::matmul_cat) {
      REQUIRE(n.inputs.size() == 4);  // wq, wk, wv, x
      CHECK(plan.graph().node(n.inputs[0]).name == "wq");
      CHECK(plan.graph().node(n.inputs[2]).name == "wv");
      CHECK(n.shape == Shape{1, 4 * 32 + 2 * 32 + 2 * 32});
    }
    if (n.op == OpKind::matmul_swiglu) {
      REQUIRE(n.inputs.size() == 3);  // w_gate, w_up, x
      CHECK(plan.graph().node(n.inputs[0]).name == "w_gate");
      CHECK(plan.graph().node(n.inputs[1]).name == "w_up");
    }
    if (n.op == OpKind::rope) CHECK(n.shape == Shape{1, 6, 32});  // q's 4 heads and k's 2
  }

  SECTION("several tokens keep the separate matmuls and ropes") {
    const testing::CaseGraph seven = attention_and_ffn(cpu, 7);
    CHECK(Plan::build(seven.graph).steps().size() == 11);
  }
  SECTION("different weight types, n_in or inputs are not grouped") {
    Graph g;
    const TensorId x = g.input("x", DType::F32, {1, 64});
    const TensorId x2 = g.input("x2", DType::F32, {1, 64});
    auto w = [&](DType type, int64_t rows, int64_t n_in) {
      const size_t bytes = size_t(rows) * row_bytes(type, size_t(n_in));
      return g.weight("w", type, {rows, n_in}, cpu.upload(std::vector<std::byte>(bytes)));
    };
    const TensorId a = g.matmul(w(DType::Q8_0, 32, 64), x);
    const TensorId b = g.matmul(w(DType::Q4_0, 32, 64), x);   // another type
    const TensorId c = g.matmul(w(DType::Q8_0, 32, 64), x2);  // another x
    for (TensorId t : {a, b, c}) g.mark_output(g.scale(t, 2.0f));
    CHECK(test::step_ops(Plan::build(g)) == std::vector<OpKind>{OpKind::matmul, OpKind::matmul, OpKind::matmul,
                                                                OpKind::scale, OpKind::scale, OpKind::scale});
  }
  SECTION("gate and up of different shapes, or a product read twice, stay separate") {
    Graph g;
    const TensorId x = g.input("x", DType::F32, {1, 32});
    auto w = [&](int64_t rows) {
      return g.weight("w", DType::F32, {rows, 32}, cpu.upload(std::vector<std::byte>(size_t(rows) * 32 * 4)));
    };
    const TensorId gate = g.matmul(w(8), x);
    const TensorId up = g.matmul(w(8), x);
    g.mark_output(g.swiglu(gate, up));
    g.mark_output(g.scale(gate, 2.0f));  // gate is read twice: not folded into the swiglu
    const std::vector<OpKind> kinds = test::step_ops(Plan::build(g));
    CHECK(std::count(kinds.begin(), kinds.end(), OpKind::matmul_swiglu) == 0);
    CHECK(std::count(kinds.begin(), kinds.end(), OpKind::swiglu) == 1);
    CHECK(std::count(kinds.begin(), kinds.end(), OpKind::matmul_cat) == 1);  // gate and up still share x
  }
}

TEST_CASE("matmul_cat matmul_swiglu and the joined rope give the unfused results on the CPU reference",
          "[graph][passes]") {
  cpu::CpuBackend cpu;
  const testing::CaseGraph g = attention_and_ffn(cpu, 1);
  // The same double sums rounded once to f32, the same rope and swiglu formulas: bit-identical.
  CHECK(run(cpu, g, PlanOptions{}) == run(cpu, g, unfused()));
}

TEST_CASE("matmul_cat matmul_swiglu and the joined rope give the unfused results on Vulkan", "[vulkan][ops]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  vk::VulkanBackend vulkan(ctx);
  cpu::CpuBackend cpu;
  const testing::CaseGraph vg = attention_and_ffn(vulkan, 1);
  const testing::CaseGraph cg = attention_and_ffn(cpu, 1);
  const auto fused = run(vulkan, vg, PlanOptions{});
  const auto plain = run(vulkan, vg, unfused());
  const auto reference = run(cpu, cg, unfused());
  REQUIRE(fused.size() == reference.size());
  for (size_t o = 0; o < fused.size(); ++o) {
    REQUIRE(fused[o].size() == reference[o].size());
    for (size_t i = 0; i < fused[o].size(); ++i) {
      INFO("output " << o << " element " << i);
      // The fused kernels run the plain kernels' sums in the same order: rounding-level agreement
      // with the unfused Vulkan plan; the CPU sums in double, so allow f32 accumulation error.
      CHECK(std::fabs(fused[o][i] - plain[o][i]) <= 1e-6f * (1.0f + std::fabs(plain[o][i])));
      CHECK(std::fabs(fused[o][i] - reference[o][i]) <= 1e-4f * (1.0f + std::fabs(reference[o][i])));
    }
  }
}

TEST_CASE("smollm2-135m's decode step runs at most 10 dispatches per layer", "[graph][passes][model]") {
  // Two layers of the preset's shapes (q4_0): the per-layer op mix is the full model's.
  testing::ScratchDir dir("fusion-smollm2");
  models::SynthOptions options;
  options.weights = "q4_0";
  options.n_layer = 2;
  const std::string path = (dir / "smollm2.gguf").string();
  models::write_synthetic_model(models::find_preset("smollm2-135m"), options, path);
  cpu::CpuBackend cpu;
  const auto model = models::Model::load(path, cpu);
  const models::Hparams& hp = model->hparams();
  REQUIRE(hp.n_layer == 2);

  const models::KvStorage kv = models::allocate_kv(hp, cpu, 64);
  for (const bool ring : {true, false}) {
    INFO("ring " << ring);
    models::StepShape shape;
    shape.n_tokens = 1;
    shape.ring = ring;
    const models::StepGraph step = models::build_step_graph(hp, model->weights(), kv, shape);
    // Outside the layers: the embedding lookup, the output norm and the logits.
    constexpr size_t outside = 3;
    const size_t fused = Plan::build(step.graph).steps().size();
    const size_t plain = Plan::build(step.graph, unfused()).steps().size();
    CHECK((fused - outside) % size_t(hp.n_layer) == 0);
    CHECK((fused - outside) / size_t(hp.n_layer) <= 10);
    // Without the pass, per layer: rms_norm, mul, q, k, v, rope q (and k without the ring), 2
    // kv_writes, attention, o, add, rms_norm, mul, gate, up, swiglu, down, add; outside: the
    // lookup, rms_norm, mul and the logits.
    CHECK(plain == 4 + size_t(hp.n_layer) * (ring ? 18u : 19u));

    // The fused plan computes the unfused plan's logits exactly on the CPU reference.
    std::vector<std::vector<float>> logits;
    for (const PlanOptions& o : {PlanOptions{}, unfused()}) {
      const Plan plan = Plan::build(step.graph, o);
      auto exe = cpu.prepare(plan);
      const std::vector<int32_t> token{7}, position{3}, slot{3};
      std::vector<int32_t> kv_pos(size_t(kv.n_slots), -1);
      for (int32_t i = 0; i <= 3; ++i) kv_pos[size_t(i)] = i;
      exe->set_input(step.tokens, std::as_bytes(std::span(token)));
      exe->set_input(step.positions, std::as_bytes(std::span(position)));
      exe->set_input(step.slots, std::as_bytes(std::span(slot)));
      exe->set_input(step.kv_pos, std::as_bytes(std::span(kv_pos)));
      exe->run();
      std::vector<float> out(size_t(hp.n_vocab));
      exe->read_output(step.logits, std::as_writable_bytes(std::span(out)));
      logits.push_back(std::move(out));
    }
    CHECK(logits[0] == logits[1]);
  }
}

TEST_CASE("the GPU rows of matmul_cat and matmul_swiglu match the CPU reference", "[vulkan][matmul]") {
  auto ctx = test::vulkan_context();
  if (ctx->info().subgroup_size < 8 || !(ctx->info().subgroup_ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT)) {
    SKIP("the test device has no subgroup shuffles over 8 invocations");
  }
  std::vector<std::string> force;
  for (const char* wx : kWeightActivation) {
    force.push_back(std::string("matmul/rows_cat_") + wx + "@gpu");
    force.push_back(std::string("matmul/rows_swiglu_") + wx + "@gpu");
  }
  check_fused_cases(force, "rows@gpu");
}

TEST_CASE("the portable mat-vec of matmul_cat and matmul_swiglu matches the CPU reference", "[vulkan][matmul]") {
  std::vector<std::string> force;
  for (const char* wx : kWeightActivation) {
    force.push_back(std::string("matmul/matvec_cat_") + wx);
    force.push_back(std::string("matmul/matvec_swiglu_") + wx);
  }
  check_fused_cases(force, "matvec");
}
