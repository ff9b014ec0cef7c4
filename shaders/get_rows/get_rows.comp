#version 450
// Embedding lookup: out[i, :] = table[ids[i], :], dequantized to f32. One invocation per output
// element. An id outside [0, n_rows) yields a zero row rather than a read out of bounds (the
// graph cannot check ids that arrive at run time).
// table: [n_rows, n] (any W_<TYPE> with Vulkan kernels), ids: [m] i32, out: [m, n] f32.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"
#define W_BINDING 0
#include "common/weights.glsl"

layout(set = 0, binding = 1) readonly buffer IdBuf { int ids[]; };
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
// The C++ side: GetRowsPush in engine/backend/vulkan/push/elementwise.h (the build compares the two).
layout(push_constant) uniform Params {
  uint m;
  uint n;
  uint n_rows;
  uint w_off;
  uint ids_off;
  uint o_off;
} p;

void main() {
  const uint row_units = w_row_units(p.n);
  for (uint e = global_index(); e < p.m * p.n; e += global_stride()) {
    const uint i = e / p.n;
    const uint k = e % p.n;
    const int id = ids[p.ids_off + i];
    float v = 0.0;
    if (id >= 0 && uint(id) < p.n_rows) v = w_value(p.w_off + uint(id) * row_units, k);
    o[p.o_off + e] = v;
  }
}
