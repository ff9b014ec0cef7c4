// A matmul_add and the rms_norm_mul of its result in one dispatch (shaders/matmul/rows_norm.glsl).
// A llama-style decode step ends each half of a layer with a product plus the residual, then
// normalizes that sum for the next half: two dispatches, the second a few microseconds of work
// over one row. On a CPU-class device a dispatch costs tens of microseconds whatever it does
// (lavapipe wakes its worker threads for every one), so there the product's dispatch also runs
// the norm: the subgroup that finishes last normalizes the result.
//
// Only where nothing can tell: the norm is the very next step and reads the matmul_add's result
// itself; its result shares no bytes with what the other steps of the matmul_add's barrier group
// touch (it is now written during that group); and the norm's row is the one-subgroup kernel whose
// arithmetic rows_norm.glsl repeats, so its values are the same bits either way (steps of more
// than kMaxNormTokens tokens keep the separate norm: both must agree for batch invariance).
// Kernel forcing (tests, `--kernel`) of either row keeps the steps apart.
#include "engine/backend/vulkan/lowering_add_norm.h"

#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/step_effects.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// The most tokens whose rows the last subgroup normalizes, one after another: a decode step, a
// batched step of up to 8 decode tokens, a verification of drafted tokens take a few
// microseconds; longer steps keep the separate norm, a workgroup per row.
constexpr uint64_t kMaxNormTokens = 8;

}  // namespace

AddNormAbsorption find_add_norm_absorption(const Plan& plan, const AddNormRowCheck& rows_allow) {
  const Graph& graph = plan.graph();
  const std::vector<Step>& steps = plan.steps();
  AddNormAbsorption out;
  out.norm.resize(steps.size());
  out.absorbed_by.assign(steps.size(), -1);
  for (size_t a = 0; a + 1 < steps.size(); ++a) {
    const Node& add = graph.node(steps[a].node);
    const Node& norm = graph.node(steps[a + 1].node);
    if (add.op != OpKind::matmul_add || add.params.tails.mask != 0 || add.dtype != DType::F32 ||
        rows_of(add.shape) > kMaxNormTokens) {
      continue;
    }
    if (norm.op != OpKind::rms_norm_mul || norm.inputs[0] != steps[a].node || norm.shape != add.shape ||
        norm.dtype != DType::F32) {
      continue;
    }
    const Node& weight = graph.node(norm.inputs[1]);
    if (weight.dtype != DType::F32 || element_count(weight.shape) != add.shape.back()) continue;
    const Location& result = plan.location(steps[a + 1].node);
    const auto [first, last] = barrier_group(plan, a);
    bool untouched = true;
    for (size_t s = first; untouched && s <= last; ++s) {
      untouched = s == a || !step_touches(plan, steps[s], result);
    }
    if (!untouched || !rows_allow(steps[a].node, steps[a + 1].node)) continue;
    out.norm[a] = a + 1;
    out.absorbed_by[a + 1] = int64_t(a);
  }
  return out;
}

KernelKey add_norm_key(const Graph& graph, const Node& matmul_add) {
  KernelKey key = kernel_key(graph, matmul_add);
  key.form = KernelForm::vector_norm;
  return key;
}

bool is_one_subgroup_norm(const KernelRow& row) {
  const KernelRequirements& req = row.variant.requirements;
  return row.key.op == OpKind::rms_norm_mul && row.family == KernelFamily::row_reduction &&
         (req.subgroup_ops & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0 && req.min_subgroup_size >= row.workgroup_size;
}

void bind_norm_epilogue(Dispatch& d, const LoweringInput& in, const MatmulAddPush& add) {
  const Node& node = in.node();
  const Node& norm = in.graph().node(in.norm_after);
  const KernelRow& norm_row = select_kernel_row(in.device, kernel_key(in.graph(), norm));
  VKGRAPH_CHECK(is_one_subgroup_norm(norm_row),
                "matmul_add '{}': kernel {} repeats the one-subgroup norm, but '{}' would run {}", node.name,
                in.kernel.variant.shader, norm.name, norm_row.variant.shader);
  MatmulAddNormPush p{};
  VKGRAPH_PUSH_COPY(VKGRAPH_MATMUL_ADD_PUSH, p, add);
  p.norm_w_off = add_binding(d, in, norm.inputs[1], 4);
  p.norm_o_off = add_binding(d, in, in.norm_after, 4);
  p.norm_eps = norm.params.eps;
  add_scratch_binding(d, 0, kAddNormScratchBytes);
  // NORM_WIDTH, after the row kernel's constants 0-9: the norm row's invocations.
  constexpr size_t kNormWidthId = 10;
  VKGRAPH_CHECK(d.spec_constants.size() == kNormWidthId,
                "matmul_add '{}': {} specialization constants before NORM_WIDTH", node.name, d.spec_constants.size());
  d.spec_constants.resize(kNormWidthId + 1);
  d.spec_constants[kNormWidthId] = norm_row.workgroup_size;
  set_push(d, p);
  const uint64_t values = uint64_t(p.m) * p.n_out;
  d.bytes_read += values * 4 + uint64_t(p.n_out) * 4;  // the result again, the norm's weight
  d.bytes_written += values * 4;
}

}  // namespace vkgraph::vk
