#pragma once
// The push constants of the element-wise kernels (shaders/elementwise: binary.comp, unary.comp,
// swiglu.comp), and of the kernels of one invocation per element: rope, get_rows, kv_write.

#include "engine/backend/vulkan/push/layout.h"

namespace vkgraph::vk {

// binary.comp: a [n] op b [n_b], b repeating every n_b elements.
#define VKGRAPH_BINARY_PUSH(F) \
  F(uint32_t, n)               \
  F(uint32_t, n_b)             \
  F(uint32_t, a_off)           \
  F(uint32_t, b_off)           \
  F(uint32_t, o_off)
VKGRAPH_PUSH_STRUCT(BinaryPush, VKGRAPH_BINARY_PUSH)

// unary.comp: scale, silu, gelu, softcap (scale: the cap), convert and copy.
#define VKGRAPH_UNARY_PUSH(F) \
  F(uint32_t, n)              \
  F(uint32_t, x_off)          \
  F(uint32_t, o_off)          \
  F(float, scale)
VKGRAPH_PUSH_STRUCT(UnaryPush, VKGRAPH_UNARY_PUSH)

// swiglu.comp: silu(gate) * up.
#define VKGRAPH_SWIGLU_PUSH(F) \
  F(uint32_t, n)               \
  F(uint32_t, gate_off)        \
  F(uint32_t, up_off)          \
  F(uint32_t, o_off)
VKGRAPH_PUSH_STRUCT(SwigluPush, VKGRAPH_SWIGLU_PUSH)

// rope/rope.comp: x [m, n_head, head_dim], positions [m].
#define VKGRAPH_ROPE_PUSH(F) \
  F(uint32_t, m)             \
  F(uint32_t, n_head)        \
  F(uint32_t, head_dim)      \
  F(uint32_t, n_rot)         \
  F(uint32_t, x_off)         \
  F(uint32_t, pos_off)       \
  F(uint32_t, o_off)         \
  F(float, freq_base)        \
  F(float, freq_scale)       \
  F(uint32_t, factors_off)   \
  F(uint32_t, has_factors)
VKGRAPH_PUSH_STRUCT(RopePush, VKGRAPH_ROPE_PUSH)

// rope/rope.comp with ROPE_KV: the rope's fields, then the KV-cache writes the dispatch absorbs
// (lowering_rope_kv.cpp): A from elements [a_first, a_first + a_count) of the result, B and C
// copied from b_m / c_m rows of their sources.
#define VKGRAPH_ROPE_KV_PUSH(F) \
  VKGRAPH_ROPE_PUSH(F)          \
  F(uint32_t, slots_off)        \
  F(uint32_t, a_first)          \
  F(uint32_t, a_count)          \
  F(uint32_t, a_row)            \
  F(uint32_t, a_slots)          \
  F(uint32_t, a_off)            \
  F(uint32_t, b_m)              \
  F(uint32_t, b_row)            \
  F(uint32_t, b_slots)          \
  F(uint32_t, b_src_off)        \
  F(uint32_t, b_off)            \
  F(uint32_t, c_m)              \
  F(uint32_t, c_row)            \
  F(uint32_t, c_slots)          \
  F(uint32_t, c_src_off)        \
  F(uint32_t, c_off)
VKGRAPH_PUSH_STRUCT(RopeKvPush, VKGRAPH_ROPE_KV_PUSH)

// get_rows/get_rows.comp: m rows of a [all_rows, n] table whose rows [first_row, first_row +
// n_rows) are bound (offsets in the table's units).
#define VKGRAPH_GET_ROWS_PUSH(F) \
  F(uint32_t, m)                 \
  F(uint32_t, n)                 \
  F(uint32_t, n_rows)            \
  F(uint32_t, w_off)             \
  F(uint32_t, ids_off)           \
  F(uint32_t, o_off)             \
  F(uint32_t, first_row)         \
  F(uint32_t, all_rows)
VKGRAPH_PUSH_STRUCT(GetRowsPush, VKGRAPH_GET_ROWS_PUSH)

// kv/kv_write.comp: m rows of `row` elements (n_kv_head * head_dim) into a cache of n_slots.
#define VKGRAPH_KV_WRITE_PUSH(F) \
  F(uint32_t, m)                 \
  F(uint32_t, row)               \
  F(uint32_t, n_slots)           \
  F(uint32_t, src_off)           \
  F(uint32_t, slots_off)         \
  F(uint32_t, cache_off)
VKGRAPH_PUSH_STRUCT(KvWritePush, VKGRAPH_KV_WRITE_PUSH)

}  // namespace vkgraph::vk
