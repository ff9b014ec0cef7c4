#pragma once
// The push constants of the runtime's probe kernels (shaders/probe, probe_kernels.h).

#include "engine/backend/vulkan/push/layout.h"

namespace vkgraph::vk {

// probe/vector_add.comp and probe/copy.comp: the element count.
#define VKGRAPH_PROBE_COUNT_PUSH(F) F(uint32_t, n)
VKGRAPH_PUSH_STRUCT(ProbeCountPush, VKGRAPH_PROBE_COUNT_PUSH)

// probe/coopmat_tile.comp: one m x n x k product, 2 (A B + bias), rounded through f16 when
// round_f16 is 1.
#define VKGRAPH_PROBE_TILE_PUSH(F) \
  F(uint32_t, m)                   \
  F(uint32_t, n)                   \
  F(uint32_t, k)                   \
  F(uint32_t, round_f16)           \
  F(float, bias)
VKGRAPH_PUSH_STRUCT(ProbeTilePush, VKGRAPH_PROBE_TILE_PUSH)

}  // namespace vkgraph::vk
