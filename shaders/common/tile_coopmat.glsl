// The cooperative-matrix tile products (see tile.glsl): each subgroup computes whole CM_M x CM_N
// tiles of C, striding over them by the number of subgroups, with A and B in f16 and the
// accumulator in f32, at the device's shape (common/coopmat.glsl: 8 or 16 each way, from
// specialization constants). The kernel table pairs every variant that includes this with a
// shape requirement, so it is never chosen on a device without one; COOPMAT_EMULATED variants
// run the same code over the emulation.
#include "common/coopmat.glsl"

#define TILE_T float16_t
#define TILE_GRANULE 16

// B_LAYOUT: how B's element (k, j) is addressed: column-major with stride ldb is B[j*ldb + k]
// (NT), row-major is B[k*ldb + j] (NN).
#define TILE_MMA_COOPMAT(NAME, C, A, B, B_STEP, B_LAYOUT)                                  \
  void NAME(uint M, uint N, uint K, uint lda, uint ldb, uint ldc, bool accumulate) {       \
    const uint tiles_n = N / CM_N;                                                         \
    for (uint t = gl_SubgroupID; t < (M / CM_M) * tiles_n; t += gl_NumSubgroups) {         \
      const uint i0 = (t / tiles_n) * CM_M;                                                \
      const uint j0 = (t % tiles_n) * CM_N;                                                \
      CM_ACC acc = cm_acc_fill(0.0);                                                       \
      if (accumulate) {                                                                    \
        CM_LOAD_ACC(acc, C, i0 * ldc + j0, ldc, CM_ROW_MAJOR);                             \
      }                                                                                    \
      for (uint k0 = 0; k0 < K; k0 += CM_K) {                                              \
        CM_A a;                                                                            \
        CM_B b;                                                                            \
        CM_LOAD_A(a, A, i0 * lda + k0, lda, CM_ROW_MAJOR);                                 \
        CM_LOAD_B(b, B, B_STEP, ldb, B_LAYOUT);                                            \
        acc = cm_mul_add(a, b, acc);                                                       \
      }                                                                                    \
      CM_STORE_ACC(acc, C, i0 * ldc + j0, ldc, CM_ROW_MAJOR);                              \
    }                                                                                      \
  }

#define TILE_MMA_NT(NAME, C, A, B) TILE_MMA_COOPMAT(NAME, C, A, B, j0 * ldb + k0, CM_COL_MAJOR)
#define TILE_MMA_NN(NAME, C, A, B) TILE_MMA_COOPMAT(NAME, C, A, B, k0 * ldb + j0, CM_ROW_MAJOR)
