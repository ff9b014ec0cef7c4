#version 450
// C = A * B with cooperative matrices: A [M, K] f16, B [K, N] f16, C [M, N] f32, all row-major,
// M, N, K multiples of the shape's (common/coopmat.glsl, constants 10-12). One subgroup computes
// one CM_M x CM_N tile of C, walking K a shape's K at a time; the workgroup is that one subgroup:
// specialization constant 0 (local_size_x_id) is the device's subgroup size, set by the host.
// Besides load, multiply-add and store, it goes through fill, element access and both
// conversions (C is rounded through an f16 accumulator when `round_f16` is set), so the probe
// test checks each operation of the vocabulary at every shape.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x_id = 0) in;
#include "common/coopmat.glsl"

// The C++ side: ProbeTilePush in engine/backend/vulkan/push/probe.h (the build compares the two).
layout(push_constant) uniform Params {
  uint m;
  uint n;
  uint k;
  uint round_f16;  // 1: C goes through cm_acc_to_f16 / cm_acc_from_f16 before the store
  float bias;      // added to every element of C (fill, then element access)
} params;

layout(set = 0, binding = 0) readonly buffer A { float16_t a[]; };  // a: [m, k]
layout(set = 0, binding = 1) readonly buffer B { float16_t b[]; };  // b: [k, n]
layout(set = 0, binding = 2) buffer C { float c[]; };               // c: [m, n]

void main() {
  const uint tiles_n = params.n / CM_N;
  const uint tile_row = gl_WorkGroupID.x / tiles_n;
  const uint tile_col = gl_WorkGroupID.x % tiles_n;
  if (tile_row * CM_M >= params.m) return;

  CM_ACC acc = cm_acc_fill(params.bias);
  for (uint kk = 0; kk < params.k; kk += CM_K) {
    CM_A ta;
    CM_B tb;
    CM_LOAD_A(ta, a, tile_row * CM_M * params.k + kk, params.k, CM_ROW_MAJOR);
    CM_LOAD_B(tb, b, kk * params.n + tile_col * CM_N, params.n, CM_ROW_MAJOR);
    acc = cm_mul_add(ta, tb, acc);
  }
  // Element access: doubling every element is layout-independent.
  for (uint i = 0; i < cm_acc_length(acc); ++i) CM_ELEM(acc, i) = CM_ELEM(acc, i) * 2.0;
  if (params.round_f16 != 0) acc = cm_acc_from_f16(cm_acc_to_f16(acc));
  CM_STORE_ACC(acc, c, tile_row * CM_M * params.n + tile_col * CM_N, params.n, CM_ROW_MAJOR);
}
