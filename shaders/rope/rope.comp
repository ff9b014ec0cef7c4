#version 450
// Rotary position embedding. Each invocation handles one pair of one head of one token.
//   normal (llama): rotates (2i, 2i + 1) for 2i < n_rot
//   NEOX (qwen2):   rotates (i, i + n_rot/2) for i < n_rot/2
// with theta = pos * freq_scale * freq_base^(-2i / n_rot) / factors[i] (the optional frequency
// factors, Llama 3.1's rope_freqs; has_factors 0: all 1); dimensions >= n_rot pass through.
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
#define STORE(i, v)                \
  {                                \
    const float stored_ = (v);     \
    o[ob + (i)] = stored_;         \
    store_result(ob - p.o_off + (i), stored_); \
  }
#else
#define STORE(i, v) o[ob + (i)] = (v);
#endif

void main() {
  const uint half_rot = p.n_rot / 2;
  // Pairs per head: the rotated ones, then the pass-through dimensions two at a time.
  const uint pairs = half_rot + (p.head_dim - p.n_rot + 1) / 2;
  const uint total = p.m * p.n_head * pairs;
  for (uint g = global_index(); g < total; g += global_stride()) {
    const uint j = g % pairs;
    const uint head_row = g / pairs;  // token * n_head + head
    const uint token = head_row / p.n_head;
    const uint xb = p.x_off + head_row * p.head_dim;
    const uint ob = p.o_off + head_row * p.head_dim;
    if (j < half_rot) {
      const float theta = float(pos[p.pos_off + token]) * p.freq_scale *
                          pow(p.freq_base, -2.0 * float(j) / float(p.n_rot)) /
                          (p.has_factors != 0 ? factors[p.factors_off + j] : 1.0);
      const float c = cos(theta);
      const float s = sin(theta);
#if defined(MODE_NEOX)
      const uint i0 = j;
      const uint i1 = j + half_rot;
#else
      const uint i0 = 2 * j;
      const uint i1 = 2 * j + 1;
#endif
      const float a = x[xb + i0];
      const float b = x[xb + i1];
      STORE(i0, a * c - b * s)
      STORE(i1, a * s + b * c)
    } else {
      const uint i = p.n_rot + 2 * (j - half_rot);
      STORE(i, x[xb + i])
      if (i + 1 < p.head_dim) STORE(i + 1, x[xb + i + 1])
    }
  }
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
