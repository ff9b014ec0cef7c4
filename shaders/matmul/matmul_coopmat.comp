#version 450
// Cooperative-matrix mat-mat for prefill: out[t, r] = sum_k w[r, k] * x[t, k].
//
// NOT RUN ON A GPU YET: no device with VK_KHR_cooperative_matrix has executed it. The COOPMAT
// variant is compiled and spirv-val'd at build time and chosen only on devices listing an f16 x
// f16 + f32 -> f32 subgroup shape (common/coopmat.glsl); the COOPMAT_EMULATED variant, this same
// source over the emulation of common/coopmat_emulated.glsl, runs in CI on lavapipe at the
// 16x16x16, 8x8x16, 8x16x16 and 8x8x8 shapes against the CPU reference.
//
// A workgroup computes a BM x BN tile of out (BM tokens by BN output rows), stepping through
// n_in BK at a time. Both operand tiles are staged in shared memory as f16: the activations
// converted, the weights dequantized on the way (Q8_0/Q4_0 are read packed, d * q rounded to
// f16; F16 weights are copied). Activations beyond f16's range are scaled per token by a power of
// two for the staging and scaled back at the store (f16_safe_scale): exact, and no infinity. The subgroups stride over the CM_M x CM_N tiles of the output;
// the accumulators live in shared memory as f32 (loaded, advanced by BK / CM_K products and
// stored back each step), which keeps the kernel correct for any number of subgroups and any
// BM x BN from the specialization constants, and gives the final store its edge checks (m and
// n_out need not be multiples of 16).
// BM, BN, BK (ids 1-3) are multiples of 16, so of the shape's M, N, K (ids 10-12, 8 or 16:
// common/coopmat.glsl); the workgroup size (id 0) a multiple of the subgroup size.
// w: [n_out, n_in], x: [m, n_in], out: [m, n_out] f32.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"
#include "common/coopmat.glsl"
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
// Per token of the tile: the power of two its activations are divided by before the f16 staging,
// so that none exceeds f16's largest finite value (65504) and turns into infinity (then NaN in
// the products); the accumulators are multiplied back at the store. 1 for every ordinary row.
shared float x_scale[BM];

void main() {
  const uint tiles_n = (p.n_out + BN - 1) / BN;
  const uint tiles_m = (p.m + BM - 1) / BM;
  const uint g = group_index();
  if (g >= tiles_n * tiles_m) return;  // uniform for the workgroup
  const uint m0 = (g / tiles_n) * BM;
  const uint n0 = (g % tiles_n) * BN;
  const uint t = gl_LocalInvocationID.x;
  const uint row_units = w_row_units(p.n_in);
  const uint sub_n = BN / CM_N;
  const uint sub_tiles = (BM / CM_M) * sub_n;

  for (uint e = t; e < BM * BN; e += gl_WorkGroupSize.x) cs[e] = 0.0;
  for (uint r = t; r < BM; r += gl_WorkGroupSize.x) {
    const uint token = m0 + r;
    float largest = 0.0;
    if (token < p.m) {
      for (uint kk = 0; kk < p.n_in; ++kk) largest = max(largest, abs(float(x[p.x_off + token * p.n_in + kk])));
    }
    x_scale[r] = f16_safe_scale(largest);
  }
  barrier();

  for (uint k0 = 0; k0 < p.n_in; k0 += BK) {
    for (uint e = t; e < BM * BK; e += gl_WorkGroupSize.x) {
      const uint token = m0 + e / BK, kk = k0 + e % BK;
      xs[e] = float16_t((token < p.m && kk < p.n_in) ? float(x[p.x_off + token * p.n_in + kk]) / x_scale[e / BK] : 0.0);
    }
    for (uint e = t; e < BN * BK; e += gl_WorkGroupSize.x) {
      const uint row = n0 + e / BK, kk = k0 + e % BK;
      ws[e] = float16_t((row < p.n_out && kk < p.n_in) ? w_value(p.w_off0 + row * row_units, kk) : 0.0);
    }
    barrier();
    for (uint s = gl_SubgroupID; s < sub_tiles; s += gl_NumSubgroups) {
      const uint i0 = (s / sub_n) * CM_M, j0 = (s % sub_n) * CM_N;
      CM_ACC acc;
      CM_LOAD_ACC(acc, cs, i0 * BN + j0, BN, CM_ROW_MAJOR);
      for (uint kk = 0; kk < BK; kk += CM_K) {
        CM_A a;
        CM_B b;
        CM_LOAD_A(a, xs, i0 * BK + kk, BK, CM_ROW_MAJOR);
        // B(k, j) = w[j0 + j, k]: column-major with stride BK.
        CM_LOAD_B(b, ws, j0 * BK + kk, BK, CM_COL_MAJOR);
        acc = cm_mul_add(a, b, acc);
      }
      CM_STORE_ACC(acc, cs, i0 * BN + j0, BN, CM_ROW_MAJOR);
    }
    barrier();
  }

  for (uint e = t; e < BM * BN; e += gl_WorkGroupSize.x) {
    const uint token = m0 + e / BN, row = n0 + e % BN;
    if (token < p.m && row < p.n_out) o[p.o_off + token * p.n_out + row] = cs[e] * x_scale[e / BN];
  }
}
