// A rope and the KV-cache writes beside it in one dispatch (shaders/rope/rope.comp, ROPE_KV).
// A decode step of a llama-style layer runs, after its q/k/v products, a rope over q and k and
// two kv_writes (keys from the rope, values from the products): three dispatches that each move
// a few kilobytes. On a CPU-class device a dispatch costs tens of microseconds whatever it does
// (lavapipe wakes its worker threads for every one), so the three are one here, on every device:
// the rope's dispatch also stores the keys it rotates and copies the values.
//
// In the KV ring (attention rotates the keys, stored as projected) both writes are copies, which
// the rope of q performs.
//
// Only the order of effects changes, never what a step computes, and only where the plan's
// barriers show that nothing else can tell: the copied writes (up to two) are steps of the
// rope's barrier group (no step of a group depends on another), and the write from the rope's
// result, a later step, moves into the rope's dispatch only when no step from the start of the
// rope's group up to it touches its cache. Kernel forcing (tests, `--kernel`) of the rope or
// kv_write rows keeps the steps apart, so a forced row still runs.
#include "engine/backend/vulkan/lowering_rope_kv.h"

#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/push/elementwise.h"
#include "engine/backend/vulkan/step_effects.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// One copied write's push fields (b_* or c_*).
struct CopyFields {
  uint32_t m = 0, row = 0, slots = 0, src_off = 0, off = 0;
};
void set_copy_fields(RopeKvPush& p, size_t i, const CopyFields& f) {
  if (i == 0) {
    p.b_m = f.m, p.b_row = f.row, p.b_slots = f.slots, p.b_src_off = f.src_off, p.b_off = f.off;
  } else {
    p.c_m = f.m, p.c_row = f.row, p.c_slots = f.slots, p.c_src_off = f.src_off, p.c_off = f.off;
  }
}

// The rope's own fields of the combined push block.
RopePush rope_fields(const RopeKvPush& p) {
  RopePush rope{};
  VKGRAPH_PUSH_COPY(VKGRAPH_ROPE_PUSH, rope, p);
  return rope;
}

}  // namespace

RopeKvAbsorption find_rope_kv_absorption(const Plan& plan, const RopeKvRowCheck& rows_allow) {
  const Graph& graph = plan.graph();
  const std::vector<Step>& steps = plan.steps();
  RopeKvAbsorption out;
  out.writes.resize(steps.size());
  out.absorbed_by.assign(steps.size(), -1);
  const auto is_kv_write = [&](size_t i) {
    return graph.node(steps[i].node).op == OpKind::kv_write && out.absorbed_by[i] < 0;
  };
  for (size_t r = 0; r < steps.size(); ++r) {
    const Node& rope = graph.node(steps[r].node);
    if (rope.op != OpKind::rope) continue;
    const auto [first, last] = barrier_group(plan, r);

    RopeKvWrites w;
    // From the result: the first later kv_write of a part of this rope's result. Its effect moves
    // from its own step to the rope's, so no step from the group's start to it may touch its cache.
    for (size_t j = r + 1; j < steps.size() && !w.from_result; ++j) {
      if (!is_kv_write(j) || view_source(graph, graph.node(steps[j].node).inputs[1]) != steps[r].node) continue;
      const Location& cache = plan.location(steps[j].node);
      bool untouched = true;
      for (size_t s = first; untouched && s < j; ++s) untouched = !step_touches(plan, steps[s], cache);
      if (untouched) w.from_result = j;
      break;
    }
    // Copied: kv_writes of the rope's group (their sources are ready before the group), with the
    // same slots and cache type as the first write taken.
    for (size_t c = last + 1; c-- > first && w.copied.size() < RopeKvWrites::kMaxCopied;) {
      if (c == r || !is_kv_write(c)) continue;
      const Node& kv = graph.node(steps[c].node);
      if (w.any()) {
        const Node& taken = graph.node(steps[w.first()].node);
        if (kv.inputs[2] != taken.inputs[2] || kv.dtype != taken.dtype) continue;
      }
      w.copied.push_back(c);
    }
    if (!w.any() || !rows_allow(steps[r].node, graph.node(steps[w.first()].node).dtype, w)) continue;
    if (w.from_result) out.absorbed_by[*w.from_result] = int64_t(r);
    for (size_t c : w.copied) out.absorbed_by[c] = int64_t(r);
    out.writes[r] = std::move(w);
  }
  return out;
}

KernelKey rope_kv_key(const Node& rope, DType cache) {
  return {OpKind::rope, DType::F32, cache,
          rope.params.rope.mode == RopeMode::neox ? KernelForm::rope_neox_kv : KernelForm::rope_normal_kv};
}

DType rope_kv_cache_type(const Plan& plan, const RopeKvWrites& w) {
  return plan.graph().node(plan.steps()[w.first()].node).dtype;
}

Dispatch lower_rope_kv(const LoweringInput& in) {
  const Node& node = in.node();
  VKGRAPH_CHECK(in.rope_kv != nullptr && in.rope_kv->any(), "rope '{}': kernel {} needs the kv_writes it absorbs",
                node.name, in.kernel.variant.shader);
  const RopeKvWrites& w = *in.rope_kv;
  const std::vector<Step>& steps = in.plan.steps();
  const Graph& graph = in.graph();

  // The rope itself: bindings 0-3 and push fields as the plain rope has them.
  Dispatch d = begin_dispatch(in);
  RopeKvPush p{};
  VKGRAPH_PUSH_COPY(VKGRAPH_ROPE_PUSH, p, bind_rope(d, in));

  const Node& first = graph.node(steps[w.first()].node);
  p.slots_off = add_binding(d, in, first.inputs[2], 4);
  const auto cache_shape = [&](const Node& kv, uint32_t& row, uint32_t& slots) {
    slots = checked_u32(uint64_t(kv.shape.at(0)), kv, "cache slots");
    row = checked_u32(uint64_t(element_count(kv.shape) / kv.shape.at(0)), kv, "cache row");
  };
  // Bindings 5-9: cache A, then cache and source of each copy. An absent write binds the first
  // write's cache (and the rope's input as its source), unread.
  const uint32_t cache_unit = unit_bytes(first.dtype);
  const TensorId first_cache = steps[w.first()].node;
  if (w.from_result) {
    const Node& kv = graph.node(first_cache);
    const Node& src = graph.node(kv.inputs[1]);
    cache_shape(kv, p.a_row, p.a_slots);
    p.a_count = checked_u32(uint64_t(element_count(src.shape)), kv, "elements");
    // Where the source lies in the rope's result: both in the same buffer (a view of it).
    const Location& at = in.plan.location(kv.inputs[1]);
    const Location& result = in.plan.location(in.id);
    VKGRAPH_CHECK(at.offset >= result.offset && (at.offset - result.offset) % 4 == 0,
                  "kv_write '{}': its source is not inside rope '{}''s result", kv.name, node.name);
    p.a_first = checked_u32((at.offset - result.offset) / 4, kv, "offset in the rope's result");
  }
  p.a_off = add_binding(d, in, first_cache, cache_unit);
  uint64_t copied_elements = 0;
  for (size_t i = 0; i < RopeKvWrites::kMaxCopied; ++i) {
    CopyFields f{};
    TensorId cache = first_cache, src = in.input_id(0);
    if (i < w.copied.size()) {
      cache = steps[w.copied[i]].node;
      const Node& kv = graph.node(cache);
      src = kv.inputs[1];
      cache_shape(kv, f.row, f.slots);
      f.m = checked_u32(uint64_t(element_count(graph.node(src).shape)) / f.row, kv, "tokens");
      copied_elements = std::max<uint64_t>(copied_elements, uint64_t(f.m) * f.row);
      d.bytes_read += uint64_t(f.m) * (f.row + 1) * 4;
      d.bytes_written += uint64_t(f.m) * f.row * cache_unit;
    }
    f.off = add_binding(d, in, cache, cache_unit);
    f.src_off = add_binding(d, in, src, 4);
    set_copy_fields(p, i, f);
  }
  set_push(d, p);

  d.bytes_read += uint64_t(p.a_count) / std::max(p.a_row, 1u) * 4;
  d.bytes_written += uint64_t(p.a_count) * cache_unit;
  const uint64_t threads = std::max<uint64_t>(rope_invocations(rope_fields(p)), copied_elements);
  checked_u32(threads, node, "invocations");
  set_groups(d, (threads + in.kernel.workgroup_size - 1) / in.kernel.workgroup_size, in.device, node);
  return d;
}

}  // namespace vkgraph::vk
