#version 450
// Cooperative-matrix mat-mat for prefill: out[t, r] = sum_k w[r, k] * x[t, k].
//
// NOT RUN ON HARDWARE: this machine has no device with VK_KHR_cooperative_matrix. The kernel
// is compiled and spirv-val'd at build time and the kernel table only selects it on devices
// listing the 16x16x16 f16 x f16 + f32 -> f32 subgroup shape; its results have not been
// compared with the CPU reference on such a device yet.
//
// A workgroup computes a BM x BN tile of out (BM tokens by BN output rows), stepping through
// n_in BK at a time. Both operand tiles are staged in shared memory as f16: the activations
// converted, the weights dequantized on the way (Q8_0/Q4_0 are read packed, d * q rounded to
// f16; F16 weights are copied). The subgroups stride over the 16 x 16 tiles of the output;
// the accumulators live in shared memory as f32 (loaded, advanced by BK / 16 products and
// stored back each step), which keeps the kernel correct for any number of subgroups and any
// BM x BN from the specialization constants, and gives the final store its edge checks (m and
// n_out need not be multiples of 16).
// BM, BN, BK (ids 1-3) are multiples of 16; the workgroup size (id 0) a multiple of the
// subgroup size. w: [n_out, n_in], x: [m, n_in], out: [m, n_out] f32.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "common/types.glsl"
#include "common/grid.glsl"
#define W_BINDING 0
#include "common/weights.glsl"

#if defined(X_F16)
#define X_T F16_T
#else
#define X_T F32_T
#endif

layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 32;

layout(set = 0, binding = 1) readonly buffer XBuf { X_T x[]; };
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
#include "matmul/params.glsl"

shared float16_t xs[BM * BK];  // [BM][BK] row-major: A
shared float16_t ws[BN * BK];  // [BN][BK]: B = ws^T, read column-major
shared float cs[BM * BN];      // [BM][BN] accumulators

#define ACC_MAT coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>
#define A_MAT coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA>
#define B_MAT coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB>

void main() {
  const uint tiles_n = (p.n_out + BN - 1) / BN;
  const uint tiles_m = (p.m + BM - 1) / BM;
  const uint g = group_index();
  if (g >= tiles_n * tiles_m) return;  // uniform for the workgroup
  const uint m0 = (g / tiles_n) * BM;
  const uint n0 = (g % tiles_n) * BN;
  const uint t = gl_LocalInvocationID.x;
  const uint row_units = w_row_units(p.n_in);
  const uint sub_n = BN / 16;
  const uint sub_tiles = (BM / 16) * sub_n;

  for (uint e = t; e < BM * BN; e += gl_WorkGroupSize.x) cs[e] = 0.0;

  for (uint k0 = 0; k0 < p.n_in; k0 += BK) {
    for (uint e = t; e < BM * BK; e += gl_WorkGroupSize.x) {
      const uint token = m0 + e / BK, kk = k0 + e % BK;
      xs[e] = float16_t((token < p.m && kk < p.n_in) ? float(x[p.x_off + token * p.n_in + kk]) : 0.0);
    }
    for (uint e = t; e < BN * BK; e += gl_WorkGroupSize.x) {
      const uint row = n0 + e / BK, kk = k0 + e % BK;
      ws[e] = float16_t((row < p.n_out && kk < p.n_in) ? w_value(p.w_off0 + row * row_units, kk) : 0.0);
    }
    barrier();
    for (uint s = gl_SubgroupID; s < sub_tiles; s += gl_NumSubgroups) {
      const uint i0 = (s / sub_n) * 16, j0 = (s % sub_n) * 16;
      ACC_MAT acc;
      coopMatLoad(acc, cs, i0 * BN + j0, BN, gl_CooperativeMatrixLayoutRowMajor);
      for (uint kk = 0; kk < BK; kk += 16) {
        A_MAT a;
        B_MAT b;
        coopMatLoad(a, xs, i0 * BK + kk, BK, gl_CooperativeMatrixLayoutRowMajor);
        // B(k, j) = w[j0 + j, k]: column-major with stride BK.
        coopMatLoad(b, ws, j0 * BK + kk, BK, gl_CooperativeMatrixLayoutColumnMajor);
        acc = coopMatMulAdd(a, b, acc);
      }
      coopMatStore(acc, cs, i0 * BN + j0, BN, gl_CooperativeMatrixLayoutRowMajor);
    }
    barrier();
  }

  for (uint e = t; e < BM * BN; e += gl_WorkGroupSize.x) {
    const uint token = m0 + e / BN, row = n0 + e % BN;
    if (token < p.m && row < p.n_out) o[p.o_off + token * p.n_out + row] = cs[e];
  }
}
