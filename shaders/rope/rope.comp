#version 450
// Rotary position embedding (rope/rope_pair.glsl: the rotation, the pairings, the frequency
// factors). Each invocation handles one pair of one head of one token.
// x: [m, n_head, head_dim] f32, pos: [m] i32, out: like x, factors: [n_rot / 2] f32 (without
// factors the binding holds pos again and is not read).
//
// ROPE_KV (engine/backend/vulkan/lowering_rope_kv.cpp): the same rotation, and in the same
// dispatch up to three KV-cache writes that would each be a dispatch of kv/kv_write.comp of
// their own: one "from the result" (keys rotated by this rope: the invocation that computes an
// element of the result range [a_first, a_first + a_count) also stores it in cache A at its
// token's slot) and up to two "copied" (values straight from the projection, and in the KV ring, whose keys
// attention rotates, the keys: b_m rows of b_row elements from src B into cache B, likewise C).
// All use the slots at slots_off; a slot outside the cache is skipped, as in kv_write.comp.
// Caches are f16 with CACHE_F16, else f32.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"

#if defined(CACHE_F16)
#define C_T F16_T
#else
#define C_T F32_T
#endif

layout(set = 0, binding = 0) readonly buffer XBuf { float x[]; };
layout(set = 0, binding = 1) readonly buffer PosBuf { int pos[]; };
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
layout(set = 0, binding = 3) readonly buffer FactorBuf { float factors[]; };
// The C++ side: RopePush in engine/backend/vulkan/push/elementwise.h (the build compares the two).
layout(push_constant) uniform Params {
  uint m;
  uint n_head;
  uint head_dim;
  uint n_rot;
  uint x_off;
  uint pos_off;
  uint o_off;
  float freq_base;
  float freq_scale;
  uint factors_off;
  uint has_factors;
#if defined(ROPE_KV)
  uint slots_off;
  uint a_first;  // the first element of the result that cache A takes
  uint a_count;  // m * a_row, or 0: no write from the result
  uint a_row;    // elements per token of cache A (n_kv_head * head_dim)
  uint a_slots;  // slots of cache A
  uint a_off;
  uint b_m;  // tokens copied into cache B, or 0: no copy
  uint b_row;
  uint b_slots;
  uint b_src_off;
  uint b_off;
  uint c_m;
  uint c_row;
  uint c_slots;
  uint c_src_off;
  uint c_off;
#endif
} p;

#if defined(ROPE_KV)
layout(set = 0, binding = 4) readonly buffer SlotBuf { int slots[]; };
layout(set = 0, binding = 5) buffer CacheA { C_T cache_a[]; };
layout(set = 0, binding = 6) buffer CacheB { C_T cache_b[]; };
layout(set = 0, binding = 7) readonly buffer SrcB { float src_b[]; };
layout(set = 0, binding = 8) buffer CacheC { C_T cache_c[]; };
layout(set = 0, binding = 9) readonly buffer SrcC { float src_c[]; };

// Element e of the result (counted from o_off), just computed as v: into cache A when in its range.
void store_result(uint e, float v) {
  if (e < p.a_first || e - p.a_first >= p.a_count) return;
  const uint j = e - p.a_first;
  const int slot = slots[p.slots_off + j / p.a_row];
  if (slot >= 0 && uint(slot) < p.a_slots) cache_a[p.a_off + uint(slot) * p.a_row + j % p.a_row] = C_T(v);
}
#define ROPE_STORE(e, v)        \
  {                             \
    const float stored_ = (v);  \
    o[p.o_off + (e)] = stored_; \
    store_result(e, stored_);   \
  }
#else
#define ROPE_STORE(e, v) o[p.o_off + (e)] = (v);
#endif

#if defined(MODE_NEOX)
#define ROPE_IS_NEOX true
#else
#define ROPE_IS_NEOX false
#endif
#define ROPE_X(i) x[p.x_off + (i)]
#define ROPE_POS(token) pos[p.pos_off + (token)]
#define ROPE_FACTOR(j) factors[p.factors_off + (j)]
#include "rope/rope_pair.glsl"

void main() {
  const RopeShape s = RopeShape(p.n_head, p.head_dim, p.n_rot, p.freq_base, p.freq_scale, p.has_factors != 0);
  const uint total = p.m * p.n_head * rope_pairs_per_head(s);
  for (uint g = global_index(); g < total; g += global_stride()) rope_pair(s, g);
#if defined(ROPE_KV)
  // The copied writes: independent of the rotation (their sources are ready before the dispatch).
  // A macro, since a GLSL function cannot take a buffer.
#define COPY_ROWS(cache, src, m, row, n_slots, src_off, off)                                       \
  for (uint e = global_index(); e < (m) * (row); e += global_stride()) {                           \
    const int slot = slots[p.slots_off + e / (row)];                                               \
    if (slot >= 0 && uint(slot) < (n_slots)) cache[(off) + uint(slot) * (row) + e % (row)] = C_T(src[(src_off) + e]); \
  }
  COPY_ROWS(cache_b, src_b, p.b_m, p.b_row, p.b_slots, p.b_src_off, p.b_off)
  COPY_ROWS(cache_c, src_c, p.c_m, p.c_row, p.c_slots, p.c_src_off, p.c_off)
#endif
}
