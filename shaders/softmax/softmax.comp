#version 450
// Softmax over the last dimension of x * scale, one workgroup per row, in three passes over the
// row (max, sum of exponentials, normalize) so it is exact for any row length.
// x: [rows, n], out: [rows, n], f32.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"
#include "common/reduce.glsl"

layout(set = 0, binding = 0) readonly buffer XBuf { float x[]; };
layout(set = 0, binding = 1) writeonly buffer OutBuf { float o[]; };
// The C++ side: SoftmaxPush in engine/backend/vulkan/push/row_ops.h (the build compares the two).
layout(push_constant) uniform Params {
  uint rows;
  uint n;
  uint x_off;
  uint o_off;
  float scale;
} p;

void main() {
  const uint row = group_index();
  if (row >= p.rows) return;
  const uint t = gl_LocalInvocationID.x;
  const uint xb = p.x_off + row * p.n;
  float m = neg_inf();
  for (uint i = t; i < p.n; i += gl_WorkGroupSize.x) m = max(m, x[xb + i] * p.scale);
  m = workgroup_max(m);
  float s = 0.0;
  for (uint i = t; i < p.n; i += gl_WorkGroupSize.x) s += exp(x[xb + i] * p.scale - m);
  const float inv = 1.0 / workgroup_sum(s);
  const uint ob = p.o_off + row * p.n;
  for (uint i = t; i < p.n; i += gl_WorkGroupSize.x) o[ob + i] = exp(x[xb + i] * p.scale - m) * inv;
}
