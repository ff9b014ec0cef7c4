// The cooperative-matrix tile products (see tile.glsl): each subgroup computes whole 16 x 16
// tiles of C, striding over them by the number of subgroups, with A and B in f16 and the
// accumulator in f32: the 16x16x16 f16 x f16 + f32 -> f32 subgroup shape that NVIDIA (Turing
// on), AMD (RDNA3) and Intel (Arc) drivers list. The kernel table pairs every variant that
// includes this with exactly that CoopMatShape, so it is never chosen on a device without it.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require

#define TILE_T float16_t
#define TILE_GRANULE 16
#define TILE_ACC_MAT coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>
#define TILE_A_MAT coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA>
#define TILE_B_MAT coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB>

// B_LAYOUT: how B's element (k, j) is addressed: column-major with stride ldb is B[j*ldb + k]
// (NT), row-major is B[k*ldb + j] (NN).
#define TILE_MMA_COOPMAT(NAME, C, A, B, B_STEP, B_LAYOUT)                                  \
  void NAME(uint M, uint N, uint K, uint lda, uint ldb, uint ldc, bool accumulate) {       \
    const uint tiles_n = N / 16;                                                           \
    for (uint t = gl_SubgroupID; t < (M / 16) * tiles_n; t += gl_NumSubgroups) {           \
      const uint i0 = (t / tiles_n) * 16;                                                  \
      const uint j0 = (t % tiles_n) * 16;                                                  \
      TILE_ACC_MAT acc = TILE_ACC_MAT(0.0);                                                \
      if (accumulate) {                                                                    \
        coopMatLoad(acc, C, i0 * ldc + j0, ldc, gl_CooperativeMatrixLayoutRowMajor);       \
      }                                                                                    \
      for (uint k0 = 0; k0 < K; k0 += 16) {                                                \
        TILE_A_MAT a;                                                                      \
        TILE_B_MAT b;                                                                      \
        coopMatLoad(a, A, i0 * lda + k0, lda, gl_CooperativeMatrixLayoutRowMajor);         \
        coopMatLoad(b, B, B_STEP, ldb, B_LAYOUT);                                          \
        acc = coopMatMulAdd(a, b, acc);                                                    \
      }                                                                                    \
      coopMatStore(acc, C, i0 * ldc + j0, ldc, gl_CooperativeMatrixLayoutRowMajor);        \
    }                                                                                      \
  }

#define TILE_MMA_NT(NAME, C, A, B) \
  TILE_MMA_COOPMAT(NAME, C, A, B, j0 * ldb + k0, gl_CooperativeMatrixLayoutColumnMajor)
#define TILE_MMA_NN(NAME, C, A, B) \
  TILE_MMA_COOPMAT(NAME, C, A, B, k0 * ldb + j0, gl_CooperativeMatrixLayoutRowMajor)
