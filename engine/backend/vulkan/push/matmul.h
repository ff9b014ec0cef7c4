#pragma once
// The push constants of the matmul kernels: shaders/matmul/params.glsl declares the same block
// (the build compares them). Weight offsets are in units of the array the shader binds the
// weight as: elements for F32/F16, uint16_t words of the blocks for quantized types.

#include "engine/backend/vulkan/push/layout.h"

namespace vkgraph::vk {

// Every matmul kernel (matvec, matvec_rows, matvec_dot8, matmul_rows_tokens, matmul_tiled,
// matmul_coopmat): w: [n_out, n_in], x: [m, n_in], out: [m, n_out].
#define VKGRAPH_MATMUL_PUSH(F) \
  F(uint32_t, m)               \
  F(uint32_t, n_in)            \
  F(uint32_t, n_out)           \
  F(uint32_t, w_off0)          \
  F(uint32_t, x_off)           \
  F(uint32_t, o_off)
VKGRAPH_PUSH_STRUCT(MatmulPush, VKGRAPH_MATMUL_PUSH)

// Built with ADD (matmul_add): the residual r [m, n_out] f32, in floats.
#define VKGRAPH_MATMUL_ADD_PUSH(F) VKGRAPH_MATMUL_PUSH(F) F(uint32_t, r_off)
VKGRAPH_PUSH_STRUCT(MatmulAddPush, VKGRAPH_MATMUL_ADD_PUSH)

// Built with ADD and NORM (matmul_add whose dispatch also performs the rms_norm_mul of its
// result, shaders/matmul/rows_norm.glsl): the norm's weight [n_out] and result [m, n_out] f32, in
// floats, and its epsilon.
#define VKGRAPH_MATMUL_ADD_NORM_PUSH(F) \
  VKGRAPH_MATMUL_ADD_PUSH(F)            \
  F(uint32_t, norm_w_off)               \
  F(uint32_t, norm_o_off)               \
  F(float, norm_eps)
VKGRAPH_PUSH_STRUCT(MatmulAddNormPush, VKGRAPH_MATMUL_ADD_NORM_PUSH)

// Built with CAT or SWIGLU (matmul_cat, matmul_swiglu): weights 1 and 2 (units as w_off0) and,
// for CAT, the rows of weights 0 and 1 (weight 2 has the rest of n_out).
#define VKGRAPH_MATMUL_GROUP_PUSH(F) \
  VKGRAPH_MATMUL_PUSH(F)             \
  F(uint32_t, w_off1)                \
  F(uint32_t, w_off2)                \
  F(uint32_t, rows0)                 \
  F(uint32_t, rows1)
VKGRAPH_PUSH_STRUCT(MatmulGroupPush, VKGRAPH_MATMUL_GROUP_PUSH)

// Built with CAT and ROPE (matmul_cat whose dispatch also performs the rope of its q and k heads
// and that rope's KV-cache writes, shaders/matmul/rows_rope.glsl): the rope's fields (its input
// in the result, its own result, in floats), then the writes (caches of kv_slots rows of kv_row
// halves; A from the rope's result, B and C copied from the product's). 32 words: the 128 bytes
// every Vulkan device accepts.
#define VKGRAPH_MATMUL_CAT_ROPE_PUSH(F) \
  VKGRAPH_MATMUL_GROUP_PUSH(F)          \
  F(uint32_t, rope_x_off)               \
  F(uint32_t, rope_heads)               \
  F(uint32_t, head_dim)                 \
  F(uint32_t, n_rot)                    \
  F(uint32_t, pos_off)                  \
  F(float, freq_base)                   \
  F(float, freq_scale)                  \
  F(uint32_t, factors_off)              \
  F(uint32_t, has_factors)              \
  F(uint32_t, rope_o_off)               \
  F(uint32_t, slots_off)                \
  F(uint32_t, kv_row)                   \
  F(uint32_t, kv_slots)                 \
  F(uint32_t, a_first)                  \
  F(uint32_t, a_count)                  \
  F(uint32_t, a_off)                    \
  F(uint32_t, b_src_off)                \
  F(uint32_t, b_count)                  \
  F(uint32_t, b_off)                    \
  F(uint32_t, c_src_off)                \
  F(uint32_t, c_count)                  \
  F(uint32_t, c_off)
VKGRAPH_PUSH_STRUCT(MatmulCatRopePush, VKGRAPH_MATMUL_CAT_ROPE_PUSH)
static_assert(sizeof(MatmulCatRopePush) <= 128, "push constants beyond the Vulkan minimum of 128 bytes");

// Built with TAIL (LoRA adapters fused into the decode mat-vecs, shaders/matmul/tails.glsl): after
// the form's own fields, per matrix i of the kernel its low-rank tail's rank (0: none), the
// offsets of b_i (halves) and t_i (floats) and its factor.
#define VKGRAPH_MATMUL_TAIL_FIELDS(F) \
  F(uint32_t, tail_rank0)             \
  F(uint32_t, tail_rank1)             \
  F(uint32_t, tail_rank2)             \
  F(uint32_t, tail_b_off0)            \
  F(uint32_t, tail_b_off1)            \
  F(uint32_t, tail_b_off2)            \
  F(uint32_t, tail_t_off0)            \
  F(uint32_t, tail_t_off1)            \
  F(uint32_t, tail_t_off2)            \
  F(float, tail_factor0)              \
  F(float, tail_factor1)              \
  F(float, tail_factor2)
#define VKGRAPH_MATMUL_TAIL_PUSH(F) VKGRAPH_MATMUL_PUSH(F) VKGRAPH_MATMUL_TAIL_FIELDS(F)
#define VKGRAPH_MATMUL_ADD_TAIL_PUSH(F) VKGRAPH_MATMUL_ADD_PUSH(F) VKGRAPH_MATMUL_TAIL_FIELDS(F)
#define VKGRAPH_MATMUL_GROUP_TAIL_PUSH(F) VKGRAPH_MATMUL_GROUP_PUSH(F) VKGRAPH_MATMUL_TAIL_FIELDS(F)
VKGRAPH_PUSH_STRUCT(MatmulTailPush, VKGRAPH_MATMUL_TAIL_PUSH)
VKGRAPH_PUSH_STRUCT(MatmulAddTailPush, VKGRAPH_MATMUL_ADD_TAIL_PUSH)
VKGRAPH_PUSH_STRUCT(MatmulGroupTailPush, VKGRAPH_MATMUL_GROUP_TAIL_PUSH)

}  // namespace vkgraph::vk
