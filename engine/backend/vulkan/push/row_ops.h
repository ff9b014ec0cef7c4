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
