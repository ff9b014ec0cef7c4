#version 450
// RMS normalization over the last dimension, one workgroup per row:
//   out = x / sqrt(mean(x^2) + eps)            (rms_norm)
//   out = x / sqrt(mean(x^2) + eps) * w        (rms_norm_mul, FUSE_MUL: the fused weight)
// x: [rows, n], w: [n], out: [rows, n], all f32.
// With SUBGROUP_SUM (rms_norm*_subgroup_f32, the kernel table's CPU-class rows) the workgroup is
// one subgroup and sums with subgroupAdd: a CPU driver runs a workgroup's subgroups as coroutines
// and switches between them at every barrier, and the 9 barriers of the 128-wide shared-memory
// reduction cost more than a one-token row's arithmetic.
#extension GL_GOOGLE_include_directive : require
#if defined(SUBGROUP_SUM)
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#include "common/types.glsl"
#include "common/grid.glsl"
#if !defined(SUBGROUP_SUM)
#include "common/reduce.glsl"
#endif

layout(set = 0, binding = 0) readonly buffer XBuf { float x[]; };
#if defined(FUSE_MUL)
layout(set = 0, binding = 1) readonly buffer WBuf { float w[]; };
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
#else
layout(set = 0, binding = 1) writeonly buffer OutBuf { float o[]; };
#endif
// The C++ side: NormPush in engine/backend/vulkan/push/row_ops.h (the build compares the two).
layout(push_constant) uniform Params {
  uint rows;
  uint n;
  uint x_off;
  uint w_off;
  uint o_off;
  float eps;
} p;

void main() {
  const uint row = group_index();
  if (row >= p.rows) return;
  const uint t = gl_LocalInvocationID.x;
  const uint xb = p.x_off + row * p.n;
  float ss = 0.0;
  for (uint i = t; i < p.n; i += gl_WorkGroupSize.x) {
    const float v = x[xb + i];
    ss += v * v;
  }
#if defined(SUBGROUP_SUM)
  const float sum = subgroupAdd(ss);
#else
  const float sum = workgroup_sum(ss);
#endif
  const float inv = inversesqrt(sum / float(p.n) + p.eps);
  const uint ob = p.o_off + row * p.n;
  for (uint i = t; i < p.n; i += gl_WorkGroupSize.x) {
#if defined(FUSE_MUL)
    o[ob + i] = x[xb + i] * inv * w[p.w_off + i];
#else
    o[ob + i] = x[xb + i] * inv;
#endif
  }
}
