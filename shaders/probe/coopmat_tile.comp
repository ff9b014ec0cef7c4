#version 450
// C = A * B with cooperative matrices: A [M, K] f16, B [K, N] f16, C [M, N] f32, all row-major,
// M, N, K multiples of 16. One subgroup computes one 16x16 tile of C, walking K in steps of 16.
// The workgroup is one subgroup: specialization constant 0 must be the device's subgroup size.
// Built only as a COOPMAT variant; selected only where the device lists the 16x16x16
// f16*f16+f32->f32 subgroup-scope shape.

#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require


// The C++ side: ProbeTilePush in engine/backend/vulkan/push/probe.h (the build compares the two).
layout(push_constant) uniform Params {
  uint m;
  uint n;
  uint k;
} params;

layout(set = 0, binding = 0) readonly buffer A { float16_t a[]; };  // a: [m, k]
layout(set = 0, binding = 1) readonly buffer B { float16_t b[]; };  // b: [k, n]
layout(set = 0, binding = 2) buffer C { float c[]; };               // c: [m, n]

const uint TILE = 16;

void main() {
  const uint tiles_n = params.n / TILE;
  const uint tile_row = gl_WorkGroupID.x / tiles_n;
  const uint tile_col = gl_WorkGroupID.x % tiles_n;
  if (tile_row * TILE >= params.m) return;

  coopmat<float, gl_ScopeSubgroup, TILE, TILE, gl_MatrixUseAccumulator> acc =
      coopmat<float, gl_ScopeSubgroup, TILE, TILE, gl_MatrixUseAccumulator>(0.0);
  for (uint kk = 0; kk < params.k; kk += TILE) {
    coopmat<float16_t, gl_ScopeSubgroup, TILE, TILE, gl_MatrixUseA> ta;
    coopmat<float16_t, gl_ScopeSubgroup, TILE, TILE, gl_MatrixUseB> tb;
    coopMatLoad(ta, a, tile_row * TILE * params.k + kk, params.k, gl_CooperativeMatrixLayoutRowMajor);
    coopMatLoad(tb, b, kk * params.n + tile_col * TILE, params.n, gl_CooperativeMatrixLayoutRowMajor);
    acc = coopMatMulAdd(ta, tb, acc);
  }
  coopMatStore(acc, c, tile_row * TILE * params.n + tile_col * TILE, params.n, gl_CooperativeMatrixLayoutRowMajor);
}
