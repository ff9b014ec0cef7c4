// Element-wise ops: one invocation per element (shaders/elementwise).
#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/push/elementwise.h"
#include "engine/core/error.h"

namespace vkgraph::vk {

Dispatch lower_elementwise(const LoweringInput& in) {
  const Node& node = in.node();
  Dispatch d = begin_dispatch(in);
  const uint32_t n = checked_u32(uint64_t(element_count(node.shape)), node, "elements");
  const uint64_t out_bytes = uint64_t(n) * unit_bytes(node.dtype);
  switch (node.op) {
    case OpKind::add:
    case OpKind::mul: {
      // b's shape is a suffix of a's (checked by the graph), so it repeats every n_b elements.
      BinaryPush p{};
      p.n = n;
      p.n_b = checked_u32(uint64_t(element_count(in.input(1).shape)), node, "broadcast elements");
      p.a_off = add_binding(d, in, in.input_id(0), 4);
      p.b_off = add_binding(d, in, in.input_id(1), 4);
      p.o_off = add_binding(d, in, in.id, 4);
      set_push(d, p);
      d.bytes_read = uint64_t(n) * 4 + uint64_t(p.n_b) * 4;
      break;
    }
    case OpKind::swiglu: {
      SwigluPush p{};
      p.n = n;
      p.gate_off = add_binding(d, in, in.input_id(0), 4);
      p.up_off = add_binding(d, in, in.input_id(1), 4);
      p.o_off = add_binding(d, in, in.id, 4);
      set_push(d, p);
      d.bytes_read = uint64_t(n) * 8;
      break;
    }
    case OpKind::scale:
    case OpKind::silu:
    case OpKind::gelu:
    case OpKind::softcap:
    case OpKind::convert: {
      UnaryPush p{};
      p.n = n;
      p.x_off = add_binding(d, in, in.input_id(0), unit_bytes(in.input(0).dtype));
      p.o_off = add_binding(d, in, in.id, unit_bytes(node.dtype));
      p.scale = node.params.scale;
      set_push(d, p);
      d.bytes_read = uint64_t(n) * unit_bytes(in.input(0).dtype);
      break;
    }
    default:
      fail("tensor '{}': {} is not an element-wise op", node.name, op_name(node.op));
  }
  d.bytes_written = out_bytes;
  set_groups(d, (uint64_t(n) + in.kernel.workgroup_size - 1) / in.kernel.workgroup_size, in.device, node);
  return d;
}

}  // namespace vkgraph::vk
