// Ops that reduce along the last dimension, one workgroup per row: rms_norm (and its fused
// weight multiply), softmax, argmax (shaders/norm, shaders/softmax, shaders/argmax).
#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/push/row_ops.h"
#include "engine/core/error.h"

namespace vkgraph::vk {

Dispatch lower_row_op(const LoweringInput& in) {
  const Node& node = in.node();
  const Node& x = in.input(0);
  Dispatch d = begin_dispatch(in);
  const uint32_t n = checked_u32(uint64_t(x.shape.back()), node, "row length");
  const uint32_t rows = checked_u32(rows_of(x.shape), node, "rows");
  d.bytes_read = uint64_t(rows) * n * 4;
  switch (node.op) {
    case OpKind::rms_norm:
    case OpKind::rms_norm_mul: {
      NormPush p{};
      p.rows = rows;
      p.n = n;
      p.eps = node.params.eps;
      p.x_off = add_binding(d, in, in.input_id(0), 4);
      if (node.op == OpKind::rms_norm_mul) {
        p.w_off = add_binding(d, in, in.input_id(1), 4);
        d.bytes_read += uint64_t(n) * 4;
      }
      p.o_off = add_binding(d, in, in.id, 4);
      set_push(d, p);
      d.bytes_written = uint64_t(rows) * n * 4;
      break;
    }
    case OpKind::softmax: {
      SoftmaxPush p{};
      p.rows = rows;
      p.n = n;
      p.scale = node.params.scale;
      p.x_off = add_binding(d, in, in.input_id(0), 4);
      p.o_off = add_binding(d, in, in.id, 4);
      set_push(d, p);
      d.bytes_written = uint64_t(rows) * n * 4;
      break;
    }
    case OpKind::argmax: {
      ArgmaxPush p{};
      p.rows = rows;
      p.n = n;
      p.x_off = add_binding(d, in, in.input_id(0), 4);
      p.o_off = add_binding(d, in, in.id, 4);
      set_push(d, p);
      d.bytes_written = uint64_t(rows) * 4;
      break;
    }
    default:
      fail("tensor '{}': {} is not a row op", node.name, op_name(node.op));
  }
  set_groups(d, rows, in.device, node);
  return d;
}

}  // namespace vkgraph::vk
