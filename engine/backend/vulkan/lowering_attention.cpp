// attention: one workgroup per (query row, head) (shaders/attention).
#include "engine/backend/vulkan/lowering.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

struct AttentionPush {  // attention/attention.comp
  uint32_t m, n_head, n_kv_head, n_slots;
  float scale;
  int32_t window;
  uint32_t q_off, k_off, v_off, q_pos_off, kv_pos_off, o_off;
};

// The kernel keeps q and its accumulator in shared memory, sized by the head dimension; the
// kernel row's shared-memory requirement was computed for this bound.
constexpr int64_t kMaxHeadDim = 256;

}  // namespace

Dispatch lower_attention(const LoweringInput& in) {
  const Node& node = in.node();
  const Node& q = in.input(0);  // q: [m, n_head, d]
  const Node& k = in.input(1);  // k: [n_slots, n_kv_head, d]
  VKGRAPH_CHECK(q.shape.size() == 3 && k.shape.size() == 3,
                "attention '{}': q {} and k {} must be [tokens, heads, head_dim]", node.name, shape_string(q.shape),
                shape_string(k.shape));
  const int64_t head_dim = q.shape[2];
  VKGRAPH_CHECK(head_dim <= kMaxHeadDim, "attention '{}': head_dim {} exceeds the kernel's limit of {}", node.name,
                head_dim, kMaxHeadDim);
  Dispatch d = begin_dispatch(in, {uint32_t(head_dim)});
  AttentionPush p{};
  p.m = checked_u32(uint64_t(q.shape[0]), node, "tokens");
  p.n_head = checked_u32(uint64_t(q.shape[1]), node, "heads");
  p.n_slots = checked_u32(uint64_t(k.shape[0]), node, "cache slots");
  p.n_kv_head = checked_u32(uint64_t(k.shape[1]), node, "kv heads");
  VKGRAPH_CHECK(p.n_kv_head > 0 && p.n_head % p.n_kv_head == 0,
                "attention '{}': {} heads not a multiple of {} kv heads", node.name, p.n_head, p.n_kv_head);
  p.scale = node.params.attention.scale;
  p.window = node.params.attention.window;
  const uint32_t kv_unit = unit_bytes(k.dtype);
  p.q_off = add_binding(d, in, in.input_id(0), 4);
  p.k_off = add_binding(d, in, in.input_id(1), kv_unit);
  p.v_off = add_binding(d, in, in.input_id(2), kv_unit);
  p.q_pos_off = add_binding(d, in, in.input_id(3), 4);
  p.kv_pos_off = add_binding(d, in, in.input_id(4), 4);
  p.o_off = add_binding(d, in, in.id, 4);
  set_push(d, p);
  const uint64_t workgroups = uint64_t(p.m) * p.n_head;
  const uint64_t kv_bytes = uint64_t(p.n_slots) * p.n_kv_head * uint64_t(head_dim) * kv_unit * 2;
  // Every (row, head) workgroup reads its kv head's keys and values.
  d.bytes_read = workgroups * kv_bytes / p.n_kv_head + uint64_t(element_count(q.shape)) * 4;
  d.bytes_written = uint64_t(element_count(q.shape)) * 4;
  set_groups(d, workgroups, in.device, node);
  return d;
}

}  // namespace vkgraph::vk
