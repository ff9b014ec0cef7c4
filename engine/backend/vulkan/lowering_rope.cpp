// RoPE: one invocation per rotated pair or pass-through pair (shaders/rope).
#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/lowering_rope_kv.h"
#include "engine/core/error.h"

namespace vkgraph::vk {

RopePush bind_rope(Dispatch& d, const LoweringInput& in) {
  const Node& node = in.node();
  const Node& x = in.input(0);  // x: [m, n_head, head_dim]
  VKGRAPH_CHECK(x.shape.size() == 3, "rope '{}': x must be [m, n_head, head_dim], got {}", node.name,
                shape_string(x.shape));
  const RopeParams& rope = node.params.rope;
  RopePush p{};
  p.m = checked_u32(uint64_t(x.shape[0]), node, "tokens");
  p.n_head = checked_u32(uint64_t(x.shape[1]), node, "heads");
  p.head_dim = checked_u32(uint64_t(x.shape[2]), node, "head_dim");
  p.n_rot = uint32_t(rope.n_rot);
  VKGRAPH_CHECK(rope.n_rot > 0 && rope.n_rot % 2 == 0 && uint32_t(rope.n_rot) <= p.head_dim,
                "rope '{}': n_rot {} must be even and in 2..head_dim ({})", node.name, rope.n_rot, p.head_dim);
  p.freq_base = rope.freq_base;
  p.freq_scale = rope.freq_scale;
  p.x_off = add_binding(d, in, in.input_id(0), 4);
  p.pos_off = add_binding(d, in, in.input_id(1), 4);
  p.o_off = add_binding(d, in, in.id, 4);
  // Binding 3: the frequency factors, or the positions again (unread) when there are none.
  p.has_factors = node.inputs.size() > 2 ? 1 : 0;
  p.factors_off = add_binding(d, in, in.input_id(p.has_factors != 0 ? 2 : 1), 4);
  d.bytes_read = uint64_t(element_count(x.shape)) * 4 + uint64_t(p.m) * 4;
  d.bytes_written = uint64_t(element_count(x.shape)) * 4;
  return p;
}

uint64_t rope_invocations(const RopePush& p) {
  const uint64_t pairs = p.n_rot / 2 + (p.head_dim - p.n_rot + 1) / 2;
  return uint64_t(p.m) * p.n_head * pairs;
}

Dispatch lower_rope(const LoweringInput& in) {
  Dispatch d = begin_dispatch(in);
  const RopePush p = bind_rope(d, in);
  set_push(d, p);
  const uint64_t threads = rope_invocations(p);
  checked_u32(threads, in.node(), "pairs");
  set_groups(d, (threads + in.kernel.workgroup_size - 1) / in.kernel.workgroup_size, in.device, in.node());
  return d;
}

}  // namespace vkgraph::vk
