#pragma once
// The push constants of the kernels of one workgroup per row (shaders/norm, shaders/softmax,
// shaders/argmax): `rows` rows of `n` elements.

#include "engine/backend/vulkan/push/layout.h"

namespace vkgraph::vk {

// norm/rms_norm.comp; w_off is unused without FUSE_MUL.
#define VKGRAPH_NORM_PUSH(F) \
  F(uint32_t, rows)          \
  F(uint32_t, n)             \
  F(uint32_t, x_off)         \
  F(uint32_t, w_off)         \
  F(uint32_t, o_off)         \
  F(float, eps)
VKGRAPH_PUSH_STRUCT(NormPush, VKGRAPH_NORM_PUSH)

// norm/rms_norm_low_rank.comp (graph.h: LowRankNorm), one token: delta_rank 0 is no delta, a
// product's rank 0 no product. Offsets are in each binding's elements (floats or halves).
#define VKGRAPH_NORM_LOW_RANK_PUSH(F) \
  F(uint32_t, n)                      \
  F(uint32_t, x_off)                  \
  F(uint32_t, w_off)                  \
  F(uint32_t, o_off)                  \
  F(float, eps)                       \
  F(uint32_t, delta_rank)             \
  F(uint32_t, u_n)                    \
  F(uint32_t, u_off)                  \
  F(uint32_t, a_off)                  \
  F(uint32_t, b_off)                  \
  F(float, factor)                    \
  F(uint32_t, rank0)                  \
  F(uint32_t, rank1)                  \
  F(uint32_t, rank2)                  \
  F(uint32_t, a0_off)                 \
  F(uint32_t, a1_off)                 \
  F(uint32_t, a2_off)                 \
  F(uint32_t, words4)
VKGRAPH_PUSH_STRUCT(NormLowRankPush, VKGRAPH_NORM_LOW_RANK_PUSH)

// softmax/softmax.comp: softmax(scale * x) per row.
#define VKGRAPH_SOFTMAX_PUSH(F) \
  F(uint32_t, rows)             \
  F(uint32_t, n)                \
  F(uint32_t, x_off)            \
  F(uint32_t, o_off)            \
  F(float, scale)
VKGRAPH_PUSH_STRUCT(SoftmaxPush, VKGRAPH_SOFTMAX_PUSH)

// argmax/argmax.comp.
#define VKGRAPH_ARGMAX_PUSH(F) \
  F(uint32_t, rows)            \
  F(uint32_t, n)               \
  F(uint32_t, x_off)           \
  F(uint32_t, o_off)
VKGRAPH_PUSH_STRUCT(ArgmaxPush, VKGRAPH_ARGMAX_PUSH)

}  // namespace vkgraph::vk
