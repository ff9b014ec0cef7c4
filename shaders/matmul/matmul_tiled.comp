#version 450
// Tiled matrix-matrix product for prefill: out[t, r] = sum_k w[r, k] * x[t, k].
// A workgroup computes a BM x BN tile of out (BM tokens by BN output rows), stepping through
// n_in BK at a time with both operand tiles staged in shared memory; each invocation owns a
// TM x TN sub-tile of accumulators. The tiles' rows are padded (matmul/tiled_layout.h) so the
// lanes of a subgroup reading one k step hit distinct shared-memory banks. Weight tiles are
// dequantized while they are staged, 32 weights (one block or chunk: its scales decoded once)
// per invocation at a time (w_chunk32), so quantized weights are read packed and never expanded
// in device memory. Edges that are not a multiple of the tile are zero-filled on load and
// skipped on store.
// BM, BN, BK are specialization constants (ids 1-3), BK a multiple of 32 (the lowering checks);
// the workgroup size (id 0) must equal (BM / TM) * (BN / TN), which the host computes.
// w: [n_out, n_in], x: [m, n_in], out: [m, n_out] f32.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"
#define W_BINDING 0
#include "common/weights.glsl"
#include "matmul/tiled_layout.h"

#if defined(X_F16)
#define X_T F16_T
#else
#define X_T F32_T
#endif

// Register tile per invocation: fixed, so the accumulators stay in registers.
#define TM TILED_TM
#define TN TILED_TN

layout(constant_id = 1) const uint BM = 32;
layout(constant_id = 2) const uint BN = 32;
layout(constant_id = 3) const uint BK = 32;

layout(set = 0, binding = 1) readonly buffer XBuf { X_T x[]; };
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
#include "matmul/params.glsl"

shared float xs[BM * (BK + TILED_PAD)];  // [BM][BK], rows padded: tiled_index
shared float ws[BN * (BK + TILED_PAD)];  // [BN][BK], rows padded

void main() {
  const uint tiles_n = (p.n_out + BN - 1) / BN;
  const uint tiles_m = (p.m + BM - 1) / BM;
  const uint g = group_index();
  if (g >= tiles_n * tiles_m) return;
  const uint m0 = (g / tiles_n) * BM;
  const uint n0 = (g % tiles_n) * BN;
  const uint t = gl_LocalInvocationID.x;
  const uint threads_n = BN / TN;
  const uint tn = t % threads_n;  // which TN columns (output rows)
  const uint tm = t / threads_n;  // which TM rows (tokens)
  const uint row_units = w_row_units(p.n_in);

  float acc[TM * TN];
  for (uint i = 0; i < TM * TN; ++i) acc[i] = 0.0;

  for (uint k0 = 0; k0 < p.n_in; k0 += BK) {
    for (uint e = t; e < BM * BK; e += gl_WorkGroupSize.x) {
      const uint r = e / BK;
      const uint k = e % BK;
      const uint token = m0 + r;
      const uint kk = k0 + k;
      xs[tiled_index(r, k, BK)] = (token < p.m && kk < p.n_in) ? float(x[p.x_off + token * p.n_in + kk]) : 0.0;
    }
    // One 32-weight chunk per invocation and step: BN * BK / 32 of them.
    for (uint c = t; c < BN * (BK / QK); c += gl_WorkGroupSize.x) {
      const uint r = c / (BK / QK);
      const uint k = (c % (BK / QK)) * QK;
      const uint row = n0 + r;
      const uint kk = k0 + k;
      vec4 w[8];
      if (row < p.n_out && kk < p.n_in) {
        w_chunk32(p.w_off0 + row * row_units, kk, p.n_in, w);
      } else {
        for (uint i = 0; i < 8u; ++i) w[i] = vec4(0.0);
      }
      for (uint i = 0; i < QK; ++i) ws[tiled_index(r, k + i, BK)] = w[i / 4u][i % 4u];
    }
    barrier();
    for (uint k = 0; k < BK; ++k) {
      float a[TM];
      float b[TN];
      for (uint i = 0; i < TM; ++i) a[i] = xs[tiled_index(tm * TM + i, k, BK)];
      for (uint j = 0; j < TN; ++j) b[j] = ws[tiled_index(tn * TN + j, k, BK)];
      for (uint i = 0; i < TM; ++i) {
        for (uint j = 0; j < TN; ++j) acc[i * TN + j] += a[i] * b[j];
      }
    }
    barrier();
  }

  for (uint i = 0; i < TM; ++i) {
    const uint token = m0 + tm * TM + i;
    if (token >= p.m) break;
    for (uint j = 0; j < TN; ++j) {
      const uint row = n0 + tn * TN + j;
      if (row < p.n_out) o[p.o_off + token * p.n_out + row] = acc[i * TN + j];
    }
  }
}
