#pragma once
// What the attention lowerings (prefill: attention_tiled.comp; split-K decode:
// attention_split.comp) give their kernels alike: the push constants (push/attention.h, the
// block of shaders/attention/params.glsl), checked against the node once, and the seven
// bindings of shaders/attention/common.glsl (and the frequency factors).

#include <cstdint>

#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/push/attention.h"

namespace vkgraph::vk {

// The kernels keep q and the output of a row in shared memory or registers sized for this.
inline constexpr int64_t kMaxAttentionHeadDim = 256;

// The shapes, mask and key rotation of `in`'s attention node, checked: q [m, n_head, d], k
// [n_slots, n_kv_head, d], d <= kMaxAttentionHeadDim, heads a multiple of kv heads. The *_off
// fields are set by bind_attention_tensors.
AttentionPush attention_push(const LoweringInput& in);

// Binds q, k, v, q_pos, kv_pos, the output and the key frequency factors as bindings 0-6 and records their offsets in
// `p` (AttentionPush or AttentionSplitPush, which starts with the same fields).
template <typename Push>
void bind_attention_tensors(Dispatch& d, const LoweringInput& in, Push& p) {
  const uint32_t kv_unit = unit_bytes(in.input(1).dtype);
  p.q_off = add_binding(d, in, in.input_id(0), 4);
  p.k_off = add_binding(d, in, in.input_id(1), kv_unit);
  p.v_off = add_binding(d, in, in.input_id(2), kv_unit);
  p.q_pos_off = add_binding(d, in, in.input_id(3), 4);
  p.kv_pos_off = add_binding(d, in, in.input_id(4), 4);
  p.o_off = add_binding(d, in, in.id, 4);
  // Binding 6: the key rotation's frequency factors, or kv_pos again (unread) without them.
  p.has_factors = in.node().inputs.size() > 5 ? 1 : 0;
  p.factors_off = add_binding(d, in, in.input_id(p.has_factors != 0 ? 5 : 4), 4);
}

// constant_id 2 of the attention kernels: how keys are rotated as they are read (0: not,
// 1: normal, 2: neox).
uint32_t rope_mode_constant(const AttentionParams& a);

}  // namespace vkgraph::vk
