#pragma once
// How split-K decode attention (shaders/attention/attention_split.comp + attention_reduce.comp)
// divides its work: query heads per workgroup and the chunks the cache is cut into. A pure
// function of the shapes and the device, so tests can check it without a device.

#include <cstdint>

#include "engine/backend/vulkan/device_info.h"

namespace vkgraph::vk {

struct DecodeSplit {
  uint32_t heads_per_group = 1;  // query heads sharing one workgroup (and each K/V read)
  uint32_t n_chunks = 1;         // 1: one dispatch writes the output, no reduce pass
  uint32_t chunk_len = 0;        // slots per chunk, a multiple of kSplitWorkgroup
  uint64_t workgroups = 0;       // of the split pass
};

// The shader's SPLIT_WG and MAX_HG.
inline constexpr uint32_t kSplitWorkgroup = 64;
inline constexpr uint32_t kSplitMaxHeads = 8;

// `tokens` query rows of `n_head` heads over `n_slots` cache slots of `n_kv_head` kv heads.
DecodeSplit choose_decode_split(uint64_t tokens, uint32_t n_head, uint32_t n_kv_head, uint32_t n_slots,
                                const DeviceInfo& device);

}  // namespace vkgraph::vk
