#version 450
// Embedding lookup: out[i, :] = table[ids[i], :], dequantized to f32. One invocation per output
// element. An id outside [0, all_rows) yields a zero row rather than a read out of bounds (the
// graph cannot check ids that arrive at run time).
// table: [all_rows, n] (any W_<TYPE> with Vulkan kernels), ids: [m] i32, out: [m, n] f32.
// A table larger than one binding is bound as ranges of rows, a dispatch each
// (engine/backend/vulkan/lowering_row_ranges.cpp): this one holds rows [first_row, first_row +
// n_rows) and writes only the output rows whose id lies there, the first range also the zero
// rows of invalid ids, so every output row is written exactly once.
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
  uint first_row;
  uint all_rows;
} p;

void main() {
  const uint row_units = w_row_units(p.n);
  for (uint e = global_index(); e < p.m * p.n; e += global_stride()) {
    const uint i = e / p.n;
    const uint k = e % p.n;
    const int id = ids[p.ids_off + i];
    const bool valid = id >= 0 && uint(id) < p.all_rows;
    if (valid && uint(id) >= p.first_row && uint(id) - p.first_row < p.n_rows) {
      o[p.o_off + e] = w_value(p.w_off + (uint(id) - p.first_row) * row_units, k);
    } else if (!valid && p.first_row == 0) {
      o[p.o_off + e] = 0.0;
    }
  }
}
