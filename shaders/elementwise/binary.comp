#version 450
// out = a (op) b, b broadcast over a's leading dimensions: b's shape is a suffix of a's, so
// element i of a meets element i % n_b of b. OP_ADD or OP_MUL.
// a: [n], b: [n_b], out: [n], all f32.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"

layout(set = 0, binding = 0) readonly buffer ABuf { float a[]; };
layout(set = 0, binding = 1) readonly buffer BBuf { float b[]; };
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
// The C++ side: BinaryPush in engine/backend/vulkan/push/elementwise.h (the build compares the two).
layout(push_constant) uniform Params {
  uint n;
  uint n_b;
  uint a_off;
  uint b_off;
  uint o_off;
} p;

void main() {
  for (uint i = global_index(); i < p.n; i += global_stride()) {
    const float x = a[p.a_off + i];
    const float y = b[p.b_off + i % p.n_b];
#if defined(OP_ADD)
    o[p.o_off + i] = x + y;
#elif defined(OP_MUL)
    o[p.o_off + i] = x * y;
#else
#error "define OP_ADD or OP_MUL"
#endif
  }
}
