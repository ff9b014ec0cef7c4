#pragma once
// What the attention lowerings (one pass: attention.comp and attention_tiled.comp; split-K:
// attention_split.comp) give their kernels alike: the push constants the shaders declare first,
// in this order, checked against the node once, and the six tensor bindings.

#include <cstdint>

#include "engine/backend/vulkan/lowering.h"

namespace vkgraph::vk {

struct AttentionPush {
  uint32_t m, n_head, n_kv_head, n_slots;
  float scale;
  int32_t window;
  uint32_t q_off, k_off, v_off, q_pos_off, kv_pos_off, o_off;
  uint32_t n_rot;  // rotate_keys
  float freq_base, freq_scale;
};

// The kernels keep q and the output of a row in shared memory or registers sized for this.
inline constexpr int64_t kMaxAttentionHeadDim = 256;

// The shapes, mask and key rotation of `in`'s attention node, checked: q [m, n_head, d], k
// [n_slots, n_kv_head, d], d <= kMaxAttentionHeadDim, heads a multiple of kv heads. The *_off
// fields are set by bind_attention_tensors.
AttentionPush attention_push(const LoweringInput& in);

// Binds q, k, v, q_pos, kv_pos and the output as bindings 0-5 and records their offsets in `p`.
void bind_attention_tensors(Dispatch& d, const LoweringInput& in, AttentionPush& p);

// constant_id 2 of the attention kernels: how keys are rotated as they are read (0: not,
// 1: normal, 2: neox).
uint32_t rope_mode_constant(const AttentionParams& a);

}  // namespace vkgraph::vk
