#version 450
// Writes new keys or values into the cache at the slots given per token, converting to the
// cache's type: cache[slots[i], :] = src[i, :]. One invocation per element. A slot outside
// [0, n_slots) is skipped rather than written out of bounds.
// cache: [n_slots, row] (CACHE_F16 or f32), src: [m, row] f32, slots: [m] i32.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"

#if defined(CACHE_F16)
#define C_T F16_T
#else
#define C_T F32_T
#endif

layout(set = 0, binding = 0) readonly buffer SrcBuf { float src[]; };
layout(set = 0, binding = 1) readonly buffer SlotBuf { int slots[]; };
layout(set = 0, binding = 2) buffer CacheBuf { C_T cache[]; };
// The C++ side: KvWritePush in engine/backend/vulkan/push/elementwise.h (the build compares the two).
layout(push_constant) uniform Params {
  uint m;
  uint row;  // n_kv_head * head_dim
  uint n_slots;
  uint src_off;
  uint slots_off;
  uint cache_off;
} p;

void main() {
  for (uint e = global_index(); e < p.m * p.row; e += global_stride()) {
    const uint i = e / p.row;
    const uint k = e % p.row;
    const int slot = slots[p.slots_off + i];
    if (slot < 0 || uint(slot) >= p.n_slots) continue;
    cache[p.cache_off + uint(slot) * p.row + k] = C_T(src[p.src_off + e]);
  }
}
