// attention, prefill on CPU-class devices: attention_rows.comp, one query row per invocation.
// The kernel reads and writes whole 4-element vectors and keeps a row's query and outputs in
// register arrays of at most 128 elements; a step it cannot run (a head past 128, an unaligned
// binding, neox keys rotated as read over a number of dimensions that is not a multiple of 8) is
// handed to the next row of the table, the tiled kernel (RowDoesNotFit).
#include "engine/backend/vulkan/attention_push.h"
#include "engine/backend/vulkan/lowering.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// The register arrays of attention_rows.comp (MAX_NV vectors of 4).
constexpr int64_t kRowsMaxHeadDim = 128;

}  // namespace

Dispatch lower_attention_rows(const LoweringInput& in) {
  const Node& node = in.node();
  VKGRAPH_CHECK(in.kernel.family == KernelFamily::attention_rows,
                "attention '{}': kernel {} is of family {}; lower_attention_rows lowers attention_rows.comp", node.name,
                in.kernel.variant.shader, kernel_family_name(in.kernel.family));
  AttentionPush p = attention_push(in);
  const Node& q = in.input(0);  // q: [m, n_head, d]
  const Node& k = in.input(1);  // k: [n_slots, n_kv_head, d]
  const int64_t head_dim = q.shape[2];
  const AttentionParams& attn = node.params.attention;
  if (attn.rotate_keys && attn.key_rope.mode == RopeMode::neox && attn.key_rope.n_rot % 8 != 0) {
    throw RowDoesNotFit(
        fmt::format("attention '{}': {} rotates neox keys by whole 4-element vectors; {} rotated "
                    "dimensions are not a multiple of 8",
                    node.name, in.kernel.variant.shader, attn.key_rope.n_rot));
  }
  if (head_dim % 4 != 0 || head_dim > kRowsMaxHeadDim) {
    throw RowDoesNotFit(fmt::format("attention '{}': {} takes head sizes that are multiples of 4 up to {}, not {}",
                                    node.name, in.kernel.variant.shader, kRowsMaxHeadDim, head_dim));
  }

  Dispatch d = begin_dispatch(in, {uint32_t(head_dim), rope_mode_constant(attn)});
  bind_attention_tensors(d, in, p);
  if (p.q_off % 4 != 0 || p.k_off % 4 != 0 || p.v_off % 4 != 0 || p.o_off % 4 != 0) {
    throw RowDoesNotFit(
        fmt::format("attention '{}': {} reads 4-element vectors; q, k, v or out is bound at an "
                    "offset that is not a multiple of 4 elements",
                    node.name, in.kernel.variant.shader));
  }
  set_push(d, p);

  // One workgroup per `workgroup_size` rows of one kv head; each reads (at most) its kv head's K
  // and V once.
  const uint64_t rows_total = uint64_t(p.m) * (p.n_head / p.n_kv_head);
  const uint64_t kv_bytes = uint64_t(p.n_slots) * p.n_kv_head * uint64_t(head_dim) * unit_bytes(k.dtype) * 2;
  const uint64_t q_bytes = uint64_t(element_count(q.shape)) * 4;
  const uint64_t workgroups = (rows_total + in.kernel.workgroup_size - 1) / in.kernel.workgroup_size * p.n_kv_head;
  d.bytes_read = workgroups * kv_bytes / p.n_kv_head + q_bytes;
  d.bytes_written = q_bytes;
  set_groups(d, workgroups, in.device, node);
  return d;
}

}  // namespace vkgraph::vk
