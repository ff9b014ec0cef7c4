#version 450
// out = silu(gate) * up, the SwiGLU gate of llama's feed-forward.
// gate: [n], up: [n], out: [n], all f32.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"

layout(set = 0, binding = 0) readonly buffer GateBuf { float gate[]; };
layout(set = 0, binding = 1) readonly buffer UpBuf { float up[]; };
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
// The C++ side: SwigluPush in engine/backend/vulkan/push/elementwise.h (the build compares the two).
layout(push_constant) uniform Params {
  uint n;
  uint gate_off;
  uint up_off;
  uint o_off;
} p;

void main() {
  for (uint i = global_index(); i < p.n; i += global_stride()) {
    const float g = gate[p.gate_off + i];
    o[p.o_off + i] = g / (1.0 + exp(-g)) * up[p.up_off + i];
  }
}
