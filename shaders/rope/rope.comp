#version 450
// Rotary position embedding. Each invocation handles one pair of one head of one token.
//   normal (llama): rotates (2i, 2i + 1) for 2i < n_rot
//   NEOX (qwen2):   rotates (i, i + n_rot/2) for i < n_rot/2
// with theta = pos * freq_scale * freq_base^(-2i / n_rot) / factors[i] (the optional frequency
// factors, Llama 3.1's rope_freqs; has_factors 0: all 1); dimensions >= n_rot pass through.
// x: [m, n_head, head_dim] f32, pos: [m] i32, out: like x, factors: [n_rot / 2] f32 (without
// factors the binding holds pos again and is not read).
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"

layout(set = 0, binding = 0) readonly buffer XBuf { float x[]; };
layout(set = 0, binding = 1) readonly buffer PosBuf { int pos[]; };
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
layout(set = 0, binding = 3) readonly buffer FactorBuf { float factors[]; };
// The C++ side: RopePush in engine/backend/vulkan/push/elementwise.h (the build compares the two).
layout(push_constant) uniform Params {
  uint m;
  uint n_head;
  uint head_dim;
  uint n_rot;
  uint x_off;
  uint pos_off;
  uint o_off;
  float freq_base;
  float freq_scale;
  uint factors_off;
  uint has_factors;
} p;

void main() {
  const uint half_rot = p.n_rot / 2;
  // Pairs per head: the rotated ones, then the pass-through dimensions two at a time.
  const uint pairs = half_rot + (p.head_dim - p.n_rot + 1) / 2;
  const uint total = p.m * p.n_head * pairs;
  for (uint g = global_index(); g < total; g += global_stride()) {
    const uint j = g % pairs;
    const uint head_row = g / pairs;  // token * n_head + head
    const uint token = head_row / p.n_head;
    const uint xb = p.x_off + head_row * p.head_dim;
    const uint ob = p.o_off + head_row * p.head_dim;
    if (j < half_rot) {
      const float theta = float(pos[p.pos_off + token]) * p.freq_scale *
                          pow(p.freq_base, -2.0 * float(j) / float(p.n_rot)) /
                          (p.has_factors != 0 ? factors[p.factors_off + j] : 1.0);
      const float c = cos(theta);
      const float s = sin(theta);
#if defined(MODE_NEOX)
      const uint i0 = j;
      const uint i1 = j + half_rot;
#else
      const uint i0 = 2 * j;
      const uint i1 = 2 * j + 1;
#endif
      const float a = x[xb + i0];
      const float b = x[xb + i1];
      o[ob + i0] = a * c - b * s;
      o[ob + i1] = a * s + b * c;
    } else {
      const uint i = p.n_rot + 2 * (j - half_rot);
      o[ob + i] = x[xb + i];
      if (i + 1 < p.head_dim) o[ob + i + 1] = x[xb + i + 1];
    }
  }
}
