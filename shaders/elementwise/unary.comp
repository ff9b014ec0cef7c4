#version 450
// Element-wise maps of one f32 tensor: OP_SCALE (x * scale), OP_SILU (x * sigmoid(x)), OP_GELU
// (GELU's tanh form), OP_SOFTCAP (scale * tanh(x / scale)) and OP_CONVERT (a copy that changes
// the storage type between X_F16/X_F32 and O_F16/O_F32).
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
#elif defined(OP_GELU)
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), Gemma's GeGLU gate; the inner argument
    // clamped where tanh is +-1 in f32 anyway, so no implementation's tanh overflows.
    const float u = clamp(0.7978845608 * (v + 0.044715 * v * v * v), -15.0, 15.0);
    o[p.o_off + i] = O_T(0.5 * v * (1.0 + tanh(u)));
#elif defined(OP_SOFTCAP)
    o[p.o_off + i] = O_T(p.scale * tanh(clamp(v / p.scale, -15.0, 15.0)));
#elif defined(OP_CONVERT)
    o[p.o_off + i] = O_T(v);
#else
#error "define OP_SCALE, OP_SILU, OP_GELU, OP_SOFTCAP or OP_CONVERT"
#endif
  }
}
