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
// converted, the weights dequantized on the way 32 at a time (w_chunk32: a block's scales read
// once for its 32 weights; quantized types are read packed, d * q rounded to f16; F16 weights
// are copied). Activations beyond f16's range are scaled per token by a power of two for the
// staging and scaled back at the store (f16_safe_scale): exact, and no infinity.
// The output's CM_M x CM_N sub-tiles are dealt to the subgroups: subgroup g owns sub-tiles
// g, g + S, g + 2S, ... (S = gl_NumSubgroups), up to ACC_TILES of them (constant_id 4, which the
// host computes from the workgroup size, the device's largest subgroup size and the tile:
// coopmat_accumulators_per_subgroup), and keeps their accumulators in registers for the whole
// K loop. Only at the end do they go to shared memory as f32, once, for the store's edge checks
// (m and n_out need not be multiples of the tile) and the x_scale factor. Should the device run
// fewer subgroups than the host assumed, the K loop runs again for the sub-tiles left (a pass
// each), so the result never depends on the subgroup size.
// BM, BN, BK (ids 1-3) are multiples of 16, so of the shape's M, N, K (ids 10-12, 8 or 16:
// common/coopmat.glsl), and BK of 32 (the weight chunks; the lowering checks); the workgroup
// size (id 0) a multiple of the subgroup size.
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
layout(constant_id = 4) const uint ACC_TILES = 1;  // accumulator sub-tiles a subgroup holds

layout(set = 0, binding = 1) readonly buffer XBuf { X_T x[]; };
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
#include "matmul/params.glsl"

shared float16_t xs[BM * BK];  // [BM][BK] row-major: A
// The weight tile's rows are WS_STRIDE = BK + 8 halves apart, not BK: the staging writes one
// 32-weight chunk per invocation, so the lanes of a subgroup write rows at once; 64 bytes apart
// (BK = 32) they meet in 2 of the 32 four-byte banks (16-way conflicts), 80 bytes apart in 8
// (4-way), and every row still starts 16 bytes aligned for the cooperative-matrix loads.
const uint WS_STRIDE = BK + 8u;
shared float16_t ws[BN * WS_STRIDE];  // [BN][BK], rows WS_STRIDE apart: B = ws^T, read column-major
shared float cs[BM * BN];      // [BM][BN] the accumulators, at the end
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

  for (uint r = t; r < BM; r += gl_WorkGroupSize.x) {
    const uint token = m0 + r;
    float largest = 0.0;
    if (token < p.m) {
      for (uint kk = 0; kk < p.n_in; ++kk) largest = max(largest, abs(float(x[p.x_off + token * p.n_in + kk])));
    }
    x_scale[r] = f16_safe_scale(largest);
  }
  barrier();

  // One pass when gl_NumSubgroups * ACC_TILES covers the sub-tiles, as the host sizes it.
  const uint per_pass = gl_NumSubgroups * ACC_TILES;
  for (uint first = 0; first < sub_tiles; first += per_pass) {
    CM_ACC acc[ACC_TILES];
    for (uint i = 0; i < ACC_TILES; ++i) acc[i] = cm_acc_fill(0.0);
    for (uint k0 = 0; k0 < p.n_in; k0 += BK) {
      for (uint e = t; e < BM * BK; e += gl_WorkGroupSize.x) {
        const uint token = m0 + e / BK, kk = k0 + e % BK;
        xs[e] = float16_t((token < p.m && kk < p.n_in) ? float(x[p.x_off + token * p.n_in + kk]) / x_scale[e / BK] : 0.0);
      }
      // One 32-weight chunk per invocation and step: BN * BK / 32 of them.
      for (uint c = t; c < BN * (BK / QK); c += gl_WorkGroupSize.x) {
        const uint r = c / (BK / QK), k = (c % (BK / QK)) * QK;
        const uint row = n0 + r, kk = k0 + k;
        vec4 w[8];
        if (row < p.n_out && kk < p.n_in) {
          w_chunk32(p.w_off0 + row * row_units, kk, p.n_in, w);
        } else {
          for (uint i = 0; i < 8u; ++i) w[i] = vec4(0.0);
        }
        for (uint i = 0; i < QK; ++i) ws[r * WS_STRIDE + k + i] = float16_t(w[i / 4u][i % 4u]);
      }
      barrier();
      for (uint i = 0; i < ACC_TILES; ++i) {
        const uint s = first + gl_SubgroupID + i * gl_NumSubgroups;
        if (s >= sub_tiles) break;  // uniform for the subgroup
        const uint i0 = (s / sub_n) * CM_M, j0 = (s % sub_n) * CM_N;
        for (uint kk = 0; kk < BK; kk += CM_K) {
          CM_A a;
          CM_B b;
          CM_LOAD_A(a, xs, i0 * BK + kk, BK, CM_ROW_MAJOR);
          // B(k, j) = w[j0 + j, k]: column-major with stride WS_STRIDE.
          CM_LOAD_B(b, ws, j0 * WS_STRIDE + kk, WS_STRIDE, CM_COL_MAJOR);
          acc[i] = cm_mul_add(a, b, acc[i]);
        }
      }
      barrier();
    }
    for (uint i = 0; i < ACC_TILES; ++i) {
      const uint s = first + gl_SubgroupID + i * gl_NumSubgroups;
      if (s >= sub_tiles) break;
      const uint i0 = (s / sub_n) * CM_M, j0 = (s % sub_n) * CM_N;
      CM_STORE_ACC(acc[i], cs, i0 * BN + j0, BN, CM_ROW_MAJOR);
    }
  }
  barrier();

  for (uint e = t; e < BM * BN; e += gl_WorkGroupSize.x) {
    const uint token = m0 + e / BN, row = n0 + e % BN;
    if (token < p.m && row < p.n_out) o[p.o_off + token * p.n_out + row] = cs[e] * x_scale[e / BN];
  }
}
