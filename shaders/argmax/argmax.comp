#version 450
// Index of the first maximum of each row, one workgroup per row: each invocation scans a strided
// part of the row, then a shared-memory reduction keeps the larger value and, on ties, the
// smaller index, so the result is the first maximum whatever the scan order.
// x: [rows, n] f32, out: [rows] i32.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"

layout(set = 0, binding = 0) readonly buffer XBuf { float x[]; };
layout(set = 0, binding = 1) writeonly buffer OutBuf { int o[]; };
// The C++ side: ArgmaxPush in engine/backend/vulkan/push/row_ops.h (the build compares the two).
layout(push_constant) uniform Params {
  uint rows;
  uint n;
  uint x_off;
  uint o_off;
} p;

shared float best_v[MAX_WORKGROUP];
shared uint best_i[MAX_WORKGROUP];

// Whether (va, ia) beats (vb, ib): larger value, or equal value and smaller index. An index of
// 0xffffffff marks "nothing seen" (rows shorter than the workgroup).
bool better(float va, uint ia, float vb, uint ib) {
  if (ib == 0xffffffffu) return ia != 0xffffffffu;
  if (ia == 0xffffffffu) return false;
  return va > vb || (va == vb && ia < ib);
}

void main() {
  const uint row = group_index();
  if (row >= p.rows) return;
  const uint t = gl_LocalInvocationID.x;
  const uint xb = p.x_off + row * p.n;
  float v = 0.0;
  uint idx = 0xffffffffu;
  for (uint i = t; i < p.n; i += gl_WorkGroupSize.x) {
    const float xi = x[xb + i];
    if (better(xi, i, v, idx)) {
      v = xi;
      idx = i;
    }
  }
  best_v[t] = v;
  best_i[t] = idx;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
    if (t < s && better(best_v[t + s], best_i[t + s], best_v[t], best_i[t])) {
      best_v[t] = best_v[t + s];
      best_i[t] = best_i[t + s];
    }
    barrier();
  }
  if (t == 0) o[p.o_off + row] = int(best_i[0]);
}
