// A rope and the KV-cache writes beside it in one dispatch (shaders/rope/rope.comp, ROPE_KV).
// A decode step of a llama-style layer runs, after its q/k/v products, a rope over q and k and
// two kv_writes (keys from the rope, values from the products): three dispatches that each move
// a few kilobytes. On a CPU-class device a dispatch costs tens of microseconds whatever it does
// (lavapipe wakes its worker threads for every one), so the three are one here, on every device:
// the rope's dispatch also stores the keys it rotates and copies the values.
//
// Only the order of effects changes, never what a step computes, and only where the plan's
// barriers show that nothing else can tell: the copied write runs in the rope's barrier group
// (no step of the group depends on another), and the write from the rope's result, the step
// right after the rope, is moved before its barrier only when no step of the rope's group
// touches its cache. Kernel forcing (tests, `--kernel`) of the rope or kv_write rows keeps the
// steps apart, so a forced row still runs.
#include "engine/backend/vulkan/lowering_rope_kv.h"

#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/push/elementwise.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// Whether two locations share bytes (same buffer: the arena, or one base's storage).
bool overlap(const Location& a, const Location& b) {
  const bool a_arena = a.placement == Placement::arena, b_arena = b.placement == Placement::arena;
  if (a_arena != b_arena || (!a_arena && a.base != b.base)) return false;
  return a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
}

// Whether step `s` reads or writes bytes of `region`.
bool touches(const Plan& plan, const Step& s, const Location& region) {
  for (TensorId r : plan.step_reads(s)) {
    if (overlap(plan.location(r), region)) return true;
  }
  return overlap(plan.location(plan.step_write(s)), region);
}

// The node a chain of views starts from.
TensorId view_source(const Graph& graph, TensorId id) {
  while (graph.node(id).op == OpKind::view) id = graph.node(id).inputs[0];
  return id;
}

// The rope's own fields of the combined push block.
RopePush bind_rope_fields(const RopeKvPush& p) {
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
    // The rope's barrier group: steps [first, last], none depending on another.
    size_t first = r, last = r;
    while (first > 0 && !steps[first].barrier_before) --first;
    while (last + 1 < steps.size() && !steps[last + 1].barrier_before) ++last;

    RopeKvWrites w;
    // From the result: the first later kv_write of a part of this rope's result. Its effect moves
    // from its own step to the rope's, so no step from the group's start to it may touch its cache.
    for (size_t j = r + 1; j < steps.size() && !w.from_result; ++j) {
      if (!is_kv_write(j) || view_source(graph, graph.node(steps[j].node).inputs[1]) != steps[r].node) continue;
      const Location& cache = plan.location(steps[j].node);
      bool untouched = true;
      for (size_t s = first; untouched && s < j; ++s) untouched = !touches(plan, steps[s], cache);
      if (untouched) w.from_result = j;
      break;
    }
    // Copied: a kv_write of the rope's group (its source is ready before the group), with the same
    // slots and cache type as the other write.
    for (size_t b = last + 1; b-- > first;) {
      if (b == r || !is_kv_write(b)) continue;
      const Node& kv = graph.node(steps[b].node);
      if (w.from_result) {
        const Node& a = graph.node(steps[*w.from_result].node);
        if (kv.inputs[2] != a.inputs[2] || kv.dtype != a.dtype) continue;
      }
      w.copied = b;
      break;
    }
    if (!w.from_result && !w.copied) continue;
    const Node& any_write = graph.node(steps[w.from_result ? *w.from_result : *w.copied].node);
    if (!rows_allow(steps[r].node, any_write.dtype, w)) continue;
    out.writes[r] = w;
    if (w.from_result) out.absorbed_by[*w.from_result] = int64_t(r);
    if (w.copied) out.absorbed_by[*w.copied] = int64_t(r);
  }
  return out;
}

KernelKey rope_kv_key(const Node& rope, DType cache) {
  return {OpKind::rope, DType::F32, cache,
          rope.params.rope.mode == RopeMode::neox ? KernelForm::rope_neox_kv : KernelForm::rope_normal_kv};
}

DType rope_kv_cache_type(const Plan& plan, const RopeKvWrites& w) {
  return plan.graph().node(plan.steps()[w.from_result ? *w.from_result : *w.copied].node).dtype;
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

  const Node& first = graph.node(steps[w.from_result ? *w.from_result : *w.copied].node);
  p.slots_off = add_binding(d, in, first.inputs[2], 4);
  const auto cache_shape = [&](const Node& kv, uint32_t& row, uint32_t& slots) {
    slots = checked_u32(uint64_t(kv.shape.at(0)), kv, "cache slots");
    row = checked_u32(uint64_t(element_count(kv.shape) / kv.shape.at(0)), kv, "cache row");
  };
  TensorId cache_a, cache_b;
  if (w.from_result) {
    const TensorId id = steps[*w.from_result].node;
    const Node& kv = graph.node(id);
    const Node& src = graph.node(kv.inputs[1]);
    cache_shape(kv, p.a_row, p.a_slots);
    p.a_count = checked_u32(uint64_t(element_count(src.shape)), kv, "elements");
    // Where the source lies in the rope's result: both in the same buffer (a view of it).
    const Location& at = in.plan.location(kv.inputs[1]);
    const Location& result = in.plan.location(in.id);
    VKGRAPH_CHECK(at.offset >= result.offset && (at.offset - result.offset) % 4 == 0,
                  "kv_write '{}': its source is not inside rope '{}''s result", kv.name, node.name);
    p.a_first = checked_u32((at.offset - result.offset) / 4, kv, "offset in the rope's result");
    cache_a = id;
  }
  if (w.copied) {
    const TensorId id = steps[*w.copied].node;
    const Node& kv = graph.node(id);
    cache_shape(kv, p.b_row, p.b_slots);
    p.b_m = checked_u32(uint64_t(element_count(graph.node(kv.inputs[1]).shape)) / p.b_row, kv, "tokens");
    cache_b = id;
  }
  // An absent write binds the other one's cache (and the rope's input as its source), unread.
  const uint32_t cache_unit = unit_bytes(first.dtype);
  p.a_off = add_binding(d, in, cache_a.valid() ? cache_a : cache_b, cache_unit);
  p.b_off = add_binding(d, in, cache_b.valid() ? cache_b : cache_a, cache_unit);
  p.b_src_off = add_binding(d, in, cache_b.valid() ? graph.node(cache_b).inputs[1] : in.input_id(0), 4);
  set_push(d, p);

  const uint64_t written = uint64_t(p.a_count) + uint64_t(p.b_m) * p.b_row;
  d.bytes_read += uint64_t(p.b_m) * p.b_row * 4 + uint64_t(p.a_count / std::max(p.a_row, 1u) + p.b_m) * 4;
  d.bytes_written += written * cache_unit;
  const uint64_t threads = std::max<uint64_t>(rope_invocations(bind_rope_fields(p)), uint64_t(p.b_m) * p.b_row);
  checked_u32(threads, node, "invocations");
  set_groups(d, (threads + in.kernel.workgroup_size - 1) / in.kernel.workgroup_size, in.device, node);
  return d;
}

}  // namespace vkgraph::vk
