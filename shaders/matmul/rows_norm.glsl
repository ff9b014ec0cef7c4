// NORM (matmul_add with the rms_norm_mul of its result, engine/backend/vulkan/lowering_add_norm.cpp):
// the subgroup that finishes last normalizes every token's row of the result, so the norm needs no
// dispatch of its own (on a CPU driver a dispatch costs tens of microseconds whatever it does;
// a llama-style decode step has two such norms per layer).
//
// It computes what norm/rms_norm.comp with SUBGROUP_SUM computes, in the same order: NORM_WIDTH
// invocations (that kernel's workgroup, one subgroup) sum every NORM_WIDTH-th square, subgroupAdd
// joins them, and each element is x * inv * w. So the normalized rows are the same bits as the
// separate kernel's, which steps of other sizes still run (docs/serving.md, batch invariance).
//
// The subgroup that arrives last (matmul/arrivals.glsl) normalizes. Needs the result binding `o`
// coherent and readable, and the kernel's control flow uniform up to the call (it is: see main).
layout(constant_id = 10) const uint NORM_WIDTH = 8;

layout(set = 0, binding = NORM_BINDING) readonly buffer NormWBuf { float norm_w[]; };
layout(set = 0, binding = NORM_BINDING + 1) writeonly buffer NormOutBuf { float norm_o[]; };
#define ARRIVAL_BINDING (NORM_BINDING + 2)
#include "matmul/arrivals.glsl"

// Called by every invocation of the `subgroups` subgroups that compute the result.
void normalize_if_last(uint subgroups) {
  if (!arrived_last(subgroups)) return;
  const uint t = gl_SubgroupInvocationID;
  if (t >= NORM_WIDTH) return;
  for (uint row = 0; row < p.m; ++row) {
    const uint xb = p.o_off + row * p.n_out;
    float ss = 0.0;
    for (uint i = t; i < p.n_out; i += NORM_WIDTH) {
      const float v = o[xb + i];
      ss += v * v;
    }
    const float sum = subgroupAdd(ss);
    const float inv = inversesqrt(sum / float(p.n_out) + p.norm_eps);
    const uint ob = p.norm_o_off + row * p.n_out;
    for (uint i = t; i < p.n_out; i += NORM_WIDTH) norm_o[ob + i] = o[xb + i] * inv * norm_w[p.norm_w_off + i];
  }
}
