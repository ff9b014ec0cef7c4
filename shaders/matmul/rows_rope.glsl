// ROPE (matmul_cat with the rope of its q and k heads, engine/backend/vulkan/lowering_cat_rope.cpp):
// the subgroup that finishes last (matmul/arrivals.glsl) rotates the query and key heads of the
// result into the rope's own result and performs the KV-cache writes that rope's dispatch would
// (rope/rope.comp with ROPE_KV): the keys it rotates into cache A, up to two copies of result
// rows (the values; in the KV ring, whose keys attention rotates, the keys too) into caches B
// and C. So a llama-style decode step runs its q/k/v products, rope and cache writes as one
// dispatch: on a CPU driver a dispatch costs tens of microseconds whatever it does.
//
// The rotation is rope/rope_pair.glsl's, as rope.comp computes it, so the rotated heads and the
// cached keys are the same bits as the separate rope's (steps that verify drafted tokens keep it).
// Caches are f16 (the default KV type; f32 caches keep the rope's dispatch). One token: the
// copies' rows lie in the result as the product's single row.
layout(constant_id = 10) const uint ROPE_NEOX = 0;  // 1: the NEOX pairing (RopeMode::neox)

layout(set = 0, binding = ROPE_BINDING) readonly buffer RopePosBuf { int rope_pos[]; };
layout(set = 0, binding = ROPE_BINDING + 1) readonly buffer RopeFactorBuf { float rope_factors[]; };
layout(set = 0, binding = ROPE_BINDING + 2) writeonly buffer RopeOutBuf { float rope_o[]; };
layout(set = 0, binding = ROPE_BINDING + 3) readonly buffer SlotBuf { int slots[]; };
layout(set = 0, binding = ROPE_BINDING + 4) buffer CacheA { F16_T cache_a[]; };
layout(set = 0, binding = ROPE_BINDING + 5) buffer CacheB { F16_T cache_b[]; };
layout(set = 0, binding = ROPE_BINDING + 6) buffer CacheC { F16_T cache_c[]; };
#define ARRIVAL_BINDING (ROPE_BINDING + 7)
#include "matmul/arrivals.glsl"

// Element e of the rope's result, just computed as v: into cache A when in its range.
void store_in_cache_a(uint e, float v) {
  if (e < p.a_first || e - p.a_first >= p.a_count) return;
  const uint j = e - p.a_first;
  const int slot = slots[p.slots_off + j / p.kv_row];
  if (slot >= 0 && uint(slot) < p.kv_slots) cache_a[p.a_off + uint(slot) * p.kv_row + j % p.kv_row] = F16_T(v);
}

#define ROPE_IS_NEOX (ROPE_NEOX != 0)
#define ROPE_X(i) o[p.rope_x_off + (i)]
#define ROPE_POS(token) rope_pos[p.pos_off + (token)]
#define ROPE_FACTOR(j) rope_factors[p.factors_off + (j)]
#define ROPE_STORE(e, v)                  \
  {                                       \
    const float stored_ = (v);            \
    rope_o[p.rope_o_off + (e)] = stored_; \
    store_in_cache_a(e, stored_);         \
  }
#include "rope/rope_pair.glsl"

// `count` elements of the result from src_off into a cache at the slots' rows. A macro, since a
// GLSL function cannot take a buffer.
#define COPY_INTO_CACHE(cache, src_off, count, off)                                                       \
  for (uint e = gl_SubgroupInvocationID; e < (count); e += gl_SubgroupSize) {                            \
    const int slot = slots[p.slots_off + e / p.kv_row];                                                 \
    if (slot >= 0 && uint(slot) < p.kv_slots) cache[(off) + uint(slot) * p.kv_row + e % p.kv_row] = F16_T(o[(src_off) + e]); \
  }

// Called by every invocation of the `subgroups` subgroups that compute the result.
void rope_if_last(uint subgroups) {
  if (!arrived_last(subgroups)) return;
  const RopeShape s = RopeShape(p.rope_heads, p.head_dim, p.n_rot, p.freq_base, p.freq_scale, p.has_factors != 0);
  const uint total = p.m * p.rope_heads * rope_pairs_per_head(s);
  for (uint g = gl_SubgroupInvocationID; g < total; g += gl_SubgroupSize) rope_pair(s, g);
  COPY_INTO_CACHE(cache_b, p.b_src_off, p.b_count, p.b_off)
  COPY_INTO_CACHE(cache_c, p.c_src_off, p.c_count, p.c_off)
}
