// A one-token matmul_cat (the q, k and v products of an attention block) and the rope of its q
// and k heads, with the KV-cache writes that rope performs (lowering_rope_kv.cpp), in one dispatch
// (shaders/matmul/rows_rope.glsl). After the norm moved into the residual product's dispatch
// (lowering_add_norm.cpp), a llama-style decode step still ran six dispatches a layer, one of them
// the rope's, which moves a few kilobytes. On a CPU-class device a dispatch costs tens of
// microseconds whatever it does (lavapipe wakes its worker threads for every one), so there the
// product's dispatch also runs the rope: the subgroup that finishes last rotates and writes.
//
// Only where nothing can tell: the rope reads views of the product's result, its writes' copied
// sources too, and the caches are f16 rows of one shape; from the start of the product's barrier
// group up to the rope, no other step touches the rope's result or the caches, or writes what the
// rope reads (the positions, factors, slots, the product's result); the writes the rope performs
// move with it. The rotation is the plain rope's own code (rope/rope_pair.glsl), so the rotated
// heads and cached keys are the same bits either way: steps of several tokens (prompts, the
// verification of drafted tokens) keep the separate rope. Kernel forcing (tests, `--kernel`) of
// the product or the rope keeps the steps apart.
#include "engine/backend/vulkan/lowering_cat_rope.h"

#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/step_effects.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// The steps of the writes a rope performs.
std::vector<size_t> write_steps(const RopeKvWrites& w) {
  std::vector<size_t> steps(w.copied.begin(), w.copied.end());
  if (w.from_result) steps.push_back(*w.from_result);
  return steps;
}

// Whether the rope at step r can move into the dispatch of the one-token matmul_cat at step a.
bool rope_can_move(const Plan& plan, size_t a, size_t r, const RopeKvWrites& w) {
  const Graph& graph = plan.graph();
  const std::vector<Step>& steps = plan.steps();
  const Node& rope = graph.node(steps[r].node);
  const TensorId cat = steps[a].node;
  if (!w.any() || rope.shape.size() != 3 || rope.shape[0] != 1 || rope_kv_cache_type(plan, w) != DType::F16) {
    return false;
  }
  const std::vector<size_t> moved_writes = write_steps(w);
  const Shape& cache_shape = graph.node(steps[w.first()].node).shape;
  for (size_t s : moved_writes) {
    const Node& kv = graph.node(steps[s].node);
    if (kv.shape != cache_shape || kv.dtype != DType::F16) return false;
  }
  for (size_t c : w.copied) {
    if (view_source(graph, graph.node(steps[c].node).inputs[1]) != cat) return false;
  }
  // What the moved effects write (touched by no other step before the rope) and what they read
  // (written by no other step before it).
  std::vector<Location> written{plan.location(steps[r].node)};
  for (size_t s : moved_writes) written.push_back(plan.location(steps[s].node));
  std::vector<Location> read{plan.location(cat)};
  for (size_t i = 1; i < rope.inputs.size(); ++i) read.push_back(plan.location(rope.inputs[i]));
  read.push_back(plan.location(graph.node(steps[w.first()].node).inputs[2]));  // the slots
  const size_t first = barrier_group(plan, a).first;
  for (size_t s = first; s < r; ++s) {
    if (s == a || std::find(moved_writes.begin(), moved_writes.end(), s) != moved_writes.end()) continue;
    const Location& its_write = plan.location(plan.step_write(steps[s]));
    for (const Location& loc : written) {
      if (step_touches(plan, steps[s], loc)) return false;
    }
    for (const Location& loc : read) {
      if (locations_overlap(its_write, loc)) return false;
    }
  }
  return true;
}

// Element offset of `id` (a view) inside tensor `base`'s bytes.
uint32_t offset_inside(const LoweringInput& in, TensorId id, TensorId base, const char* what) {
  const Location& at = in.plan.location(id);
  const Location& whole = in.plan.location(base);
  const Node& node = in.node();
  VKGRAPH_CHECK(at.offset >= whole.offset && (at.offset - whole.offset) % 4 == 0 &&
                    at.offset + at.bytes <= whole.offset + whole.bytes,
                "{} '{}': {} '{}' does not lie inside '{}'", op_name(node.op), node.name, what,
                in.graph().node(id).name, in.graph().node(base).name);
  return checked_u32((at.offset - whole.offset) / 4, node, what);
}

}  // namespace

CatRopeAbsorption find_cat_rope_absorption(const Plan& plan, const RopeKvAbsorption& writes,
                                           const CatRopeRowCheck& rows_allow) {
  const Graph& graph = plan.graph();
  const std::vector<Step>& steps = plan.steps();
  CatRopeAbsorption out;
  out.rope.resize(steps.size());
  out.absorbed_by.assign(steps.size(), -1);
  for (size_t a = 0; a < steps.size(); ++a) {
    const Node& cat = graph.node(steps[a].node);
    if (cat.op != OpKind::matmul_cat || cat.params.tails.mask != 0 || cat.dtype != DType::F32 ||
        rows_of(cat.shape) != 1) {
      continue;
    }
    // The rope: the first later step that rotates a part of this result.
    for (size_t r = a + 1; r < steps.size(); ++r) {
      const Node& rope = graph.node(steps[r].node);
      if (rope.op != OpKind::rope || view_source(graph, rope.inputs[0]) != steps[a].node) continue;
      if (out.absorbed_by[r] < 0 && rope_can_move(plan, a, r, writes.writes[r]) &&
          rows_allow(steps[a].node, steps[r].node)) {
        out.rope[a] = r;
        out.absorbed_by[r] = int64_t(a);
      }
      break;
    }
  }
  return out;
}

KernelKey cat_rope_key(const Graph& graph, const Node& cat) {
  KernelKey key = kernel_key(graph, cat);
  key.form = KernelForm::vector_rope;
  return key;
}

void bind_rope_epilogue(Dispatch& d, const LoweringInput& in, const MatmulGroupPush& group) {
  const Node& node = in.node();
  const Graph& graph = in.graph();
  const Node& rope = graph.node(in.rope_after);
  VKGRAPH_CHECK(in.rope_kv != nullptr && in.rope_kv->any(), "matmul_cat '{}': kernel {} needs the kv_writes of '{}'",
                node.name, in.kernel.variant.shader, rope.name);
  const RopeKvWrites& w = *in.rope_kv;
  const std::vector<Step>& steps = in.plan.steps();
  MatmulCatRopePush p{};
  VKGRAPH_PUSH_COPY(VKGRAPH_MATMUL_GROUP_PUSH, p, group);

  // The rope (as bind_rope has it), its input a view of this result.
  const RopeParams& params = rope.params.rope;
  p.rope_x_off = group.o_off + offset_inside(in, rope.inputs[0], in.id, "the rope's input");
  p.rope_heads = checked_u32(uint64_t(rope.shape.at(1)), node, "rope heads");
  p.head_dim = checked_u32(uint64_t(rope.shape.at(2)), node, "head_dim");
  p.n_rot = uint32_t(params.n_rot);
  VKGRAPH_CHECK(params.n_rot > 0 && params.n_rot % 2 == 0 && uint32_t(params.n_rot) <= p.head_dim,
                "rope '{}': n_rot {} must be even and in 2..head_dim ({})", rope.name, params.n_rot, p.head_dim);
  p.freq_base = params.freq_base;
  p.freq_scale = params.freq_scale;
  p.pos_off = add_binding(d, in, rope.inputs[1], 4);
  p.has_factors = rope.inputs.size() > 2 ? 1 : 0;
  p.factors_off = add_binding(d, in, rope.inputs[p.has_factors != 0 ? 2 : 1], 4);
  p.rope_o_off = add_binding(d, in, in.rope_after, 4);

  // The writes: caches of one shape (find_cat_rope_absorption), an absent one binds the first
  // write's cache, unread.
  const TensorId first_cache = steps[w.first()].node;
  const Node& first = graph.node(first_cache);
  p.slots_off = add_binding(d, in, first.inputs[2], 4);
  p.kv_slots = checked_u32(uint64_t(first.shape.at(0)), node, "cache slots");
  p.kv_row = checked_u32(uint64_t(element_count(first.shape) / first.shape.at(0)), node, "cache row");
  constexpr uint32_t kHalf = 2;
  if (w.from_result) {
    const TensorId cache = steps[*w.from_result].node;
    const TensorId src = graph.node(cache).inputs[1];
    p.a_first = offset_inside(in, src, in.rope_after, "the rotated keys");
    p.a_count = checked_u32(uint64_t(element_count(graph.node(src).shape)), node, "rotated keys");
    p.a_off = add_binding(d, in, cache, kHalf);
  } else {
    p.a_off = add_binding(d, in, first_cache, kHalf);
  }
  uint64_t copied = 0;
  for (size_t i = 0; i < RopeKvWrites::kMaxCopied; ++i) {
    uint32_t src_off = 0, count = 0;
    TensorId cache = first_cache;
    if (i < w.copied.size()) {
      cache = steps[w.copied[i]].node;
      const TensorId src = graph.node(cache).inputs[1];
      src_off = group.o_off + offset_inside(in, src, in.id, "a copied write's source");
      count = checked_u32(uint64_t(element_count(graph.node(src).shape)), node, "copied elements");
      copied += count;
    }
    const uint32_t off = add_binding(d, in, cache, kHalf);
    if (i == 0) {
      p.b_src_off = src_off, p.b_count = count, p.b_off = off;
    } else {
      p.c_src_off = src_off, p.c_count = count, p.c_off = off;
    }
  }
  add_scratch_binding(d, 0, kCatRopeScratchBytes);
  // ROPE_NEOX, after the row kernel's constants 0-9.
  constexpr size_t kRopeNeoxId = 10;
  VKGRAPH_CHECK(d.spec_constants.size() == kRopeNeoxId, "matmul_cat '{}': {} specialization constants before ROPE_NEOX",
                node.name, d.spec_constants.size());
  d.spec_constants.resize(kRopeNeoxId + 1);
  d.spec_constants[kRopeNeoxId] = params.mode == RopeMode::neox ? 1 : 0;
  set_push(d, p);

  const uint64_t rotated = uint64_t(element_count(rope.shape));
  d.bytes_read += rotated * 4 + 4 + copied * 4;  // the heads again, the position, the copies' sources
  d.bytes_written += rotated * 4 + (uint64_t(p.a_count) + copied) * kHalf;
}

}  // namespace vkgraph::vk
