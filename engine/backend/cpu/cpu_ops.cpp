#include "engine/backend/cpu/cpu_ops.h"

#include "engine/core/error.h"

namespace vkgraph::cpu {

void run_op(const OpArgs& a) {
  switch (a.node.op) {
    case OpKind::get_rows:
      return op_get_rows(a);
    case OpKind::rms_norm:
      return op_rms_norm(a);
    case OpKind::rms_norm_mul:
      return op_rms_norm_mul(a);
    case OpKind::mul:
    case OpKind::add:
      return op_binary(a);
    case OpKind::scale:
      return op_scale(a);
    case OpKind::matmul:
    case OpKind::matmul_add:
      return op_matmul(a);
    case OpKind::matmul_cat:
      return op_matmul_cat(a);
    case OpKind::matmul_swiglu:
      return op_matmul_swiglu(a);
    case OpKind::rope:
      return op_rope(a);
    case OpKind::softmax:
      return op_softmax(a);
    case OpKind::silu:
      return op_silu(a);
    case OpKind::gelu:
      return op_gelu(a);
    case OpKind::softcap:
      return op_softcap(a);
    case OpKind::swiglu:
      return op_swiglu(a);
    case OpKind::attention:
      return op_attention(a);
    case OpKind::paged_attention:
      return op_paged_attention(a);
    case OpKind::kv_write:
      return op_kv_write(a);
    case OpKind::argmax:
      return op_argmax(a);
    case OpKind::convert:
      return op_convert(a);
    case OpKind::leaf:
    case OpKind::view:
    case OpKind::rms_norm_low_rank:  // not among this backend's fused ops (cpu_backend.h)
      break;
  }
  fail("cpu backend: '{}' is a {}, not an op to run", a.node.name, op_name(a.node.op));
}

}  // namespace vkgraph::cpu
