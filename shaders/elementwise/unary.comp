#version 450
// Element-wise maps of one f32 tensor: OP_SCALE (x * scale), OP_SILU (x * sigmoid(x)), and
// OP_CONVERT (a copy that changes the storage type between X_F16/X_F32 and O_F16/O_F32).
// x: [n], out: [n].
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"

#if defined(X_F16)
#define X_T F16_T
#else
#define X_T F32_T
#endif
#if defined(O_F16)
#define O_T F16_T
#else
#define O_T F32_T
#endif

layout(set = 0, binding = 0) readonly buffer XBuf { X_T x[]; };
layout(set = 0, binding = 1) writeonly buffer OutBuf { O_T o[]; };
// The C++ side: UnaryPush in engine/backend/vulkan/push/elementwise.h (the build compares the two).
layout(push_constant) uniform Params {
  uint n;
  uint x_off;
  uint o_off;
  float scale;
} p;

void main() {
  for (uint i = global_index(); i < p.n; i += global_stride()) {
    const float v = float(x[p.x_off + i]);
#if defined(OP_SCALE)
    o[p.o_off + i] = O_T(v * p.scale);
#elif defined(OP_SILU)
    o[p.o_off + i] = O_T(v / (1.0 + exp(-v)));
#elif defined(OP_CONVERT)
    o[p.o_off + i] = O_T(v);
#else
#error "define OP_SCALE, OP_SILU or OP_CONVERT"
#endif
  }
}
