#pragma once
// How paged attention (shaders/attention/paged_attention.comp) divides its work: query rows per
// workgroup, key positions per tile and the chunks a row's keys are split into. A pure function
// of the head shapes, the block table and the device, never of the step's token count, so every
// step of a serving engine runs the same tiles (batch invariance); tests check it without a device.

#include <cstdint>

#include "engine/backend/vulkan/device_info.h"

namespace vkgraph::vk {

struct PagedTiles {
  uint32_t rows = 0;       // BR: (token, query head) rows per workgroup, a multiple of `group`; 0: none fits
  uint32_t keys = 0;       // BC: key positions per tile
  uint32_t n_chunks = 1;   // 1: one dispatch writes the output, no reduce pass
  uint32_t chunk_len = 0;  // positions per chunk, a multiple of `keys`
};

// head_dim and `group` query heads per kv head, `capacity` positions per table row (max_blocks x
// block_size), `budget` bytes of shared memory (the kernel row's).
PagedTiles choose_paged_tiles(uint64_t head_dim, uint64_t group, uint64_t capacity, uint32_t budget,
                              const DeviceInfo& device);

}  // namespace vkgraph::vk
