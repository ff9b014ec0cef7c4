#pragma once
// The push constants of the attention kernels: shaders/attention/params.glsl declares the same
// blocks (the build compares them). A new attention feature that needs a scalar adds it to
// VKGRAPH_ATTENTION_PUSH here and to the GLSL block, in the same place.

#include "engine/backend/vulkan/push/layout.h"

namespace vkgraph::vk {

// attention_tiled.comp (prefill), and the start of the split-K block.
// q: [m, n_head, d], k/v: [n_slots, n_kv_head, d]; window 0 = none; n_rot, freq_base and
// freq_scale: the key rotation of rotate_keys (n_rot 0 = keys used as stored); factors_off and
// has_factors: its optional frequency factors (binding 6); softcap 0 = scores not capped.
#define VKGRAPH_ATTENTION_PUSH(F) \
  F(uint32_t, m)                  \
  F(uint32_t, n_head)             \
  F(uint32_t, n_kv_head)          \
  F(uint32_t, n_slots)            \
  F(float, scale)                 \
  F(int32_t, window)              \
  F(uint32_t, q_off)              \
  F(uint32_t, k_off)              \
  F(uint32_t, v_off)              \
  F(uint32_t, q_pos_off)          \
  F(uint32_t, kv_pos_off)         \
  F(uint32_t, o_off)              \
  F(uint32_t, n_rot)              \
  F(float, freq_base)             \
  F(float, freq_scale)            \
  F(uint32_t, factors_off)        \
  F(uint32_t, has_factors)        \
  F(float, softcap)
VKGRAPH_PUSH_STRUCT(AttentionPush, VKGRAPH_ATTENTION_PUSH)

// attention_split.comp (split-K decode): the cache cut into n_chunks of chunk_len slots, the
// partials at part_off (floats) of the scratch binding.
#define VKGRAPH_ATTENTION_SPLIT_PUSH(F) \
  VKGRAPH_ATTENTION_PUSH(F)             \
  F(uint32_t, n_chunks)                 \
  F(uint32_t, chunk_len)                \
  F(uint32_t, part_off)
VKGRAPH_PUSH_STRUCT(AttentionSplitPush, VKGRAPH_ATTENTION_SPLIT_PUSH)

// attention_reduce.comp: rows (token, head) of the output, combined from n_chunks partials.
#define VKGRAPH_ATTENTION_REDUCE_PUSH(F) \
  F(uint32_t, rows)                      \
  F(uint32_t, n_chunks)                  \
  F(uint32_t, part_off)                  \
  F(uint32_t, o_off)
VKGRAPH_PUSH_STRUCT(AttentionReducePush, VKGRAPH_ATTENTION_REDUCE_PUSH)

// paged_attention.comp (the batched engine's paged cache): q [m, n_head, d], k/v pools
// [n_slots, n_kv_head, d] of blocks of block_size slots, the block table [n_rows, max_blocks]
// at table_off and each query's row at seq_rows_off; the keys cut into n_chunks of chunk_len
// positions, partials at part_off (floats) of the scratch binding when n_chunks > 1; softcap
// 0 = scores not capped.
#define VKGRAPH_PAGED_ATTENTION_PUSH(F) \
  F(uint32_t, m)                        \
  F(uint32_t, n_head)                   \
  F(uint32_t, n_kv_head)                \
  F(uint32_t, n_slots)                  \
  F(float, scale)                       \
  F(int32_t, window)                    \
  F(uint32_t, q_off)                    \
  F(uint32_t, k_off)                    \
  F(uint32_t, v_off)                    \
  F(uint32_t, q_pos_off)                \
  F(uint32_t, table_off)                \
  F(uint32_t, o_off)                    \
  F(uint32_t, seq_rows_off)             \
  F(uint32_t, n_rows)                   \
  F(uint32_t, max_blocks)               \
  F(uint32_t, block_size)               \
  F(uint32_t, n_chunks)                 \
  F(uint32_t, chunk_len)                \
  F(uint32_t, part_off)                 \
  F(float, softcap)
VKGRAPH_PUSH_STRUCT(PagedAttentionPush, VKGRAPH_PAGED_ATTENTION_PUSH)

}  // namespace vkgraph::vk
