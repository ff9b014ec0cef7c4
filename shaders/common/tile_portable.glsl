// The portable tile products (see tile.glsl): every invocation computes whole elements of C,
// striding over the M x N elements by the workgroup size, with f32 everywhere. Needs nothing
// beyond core Vulkan compute, so it runs on lavapipe and on GPUs without cooperative matrices.
// Each invocation takes a run of TILE_PORTABLE_COLS adjacent columns of one row, so one A value
// read from shared memory feeds that many multiply-adds (shared-memory reads are the limit on
// CPU drivers; 4 columns cut them by ~40% against one element per invocation).

#define TILE_T float
#define TILE_GRANULE 1
#define TILE_PORTABLE_COLS 4

// B is read as B[j][k] (NT: C = A B^T) or B[k][j] (NN: C = A B); the rest is the same product.
#define TILE_PORTABLE_B_NT(B, j, k) B[(j) * ldb + (k)]
#define TILE_PORTABLE_B_NN(B, j, k) B[(k) * ldb + (j)]

#define TILE_PORTABLE_MMA(NAME, C, A, B, B_AT)                                           \
  void NAME(uint M, uint N, uint K, uint lda, uint ldb, uint ldc, bool accumulate) {     \
    const uint runs = (N + TILE_PORTABLE_COLS - 1) / TILE_PORTABLE_COLS;                 \
    for (uint e = gl_LocalInvocationID.x; e < M * runs; e += gl_WorkGroupSize.x) {       \
      const uint i = e / runs;                                                           \
      const uint j0 = (e % runs) * TILE_PORTABLE_COLS;                                   \
      const uint cols = min(TILE_PORTABLE_COLS, N - j0);                                 \
      float acc[TILE_PORTABLE_COLS];                                                     \
      for (uint c = 0; c < TILE_PORTABLE_COLS; ++c) {                                    \
        acc[c] = (accumulate && c < cols) ? C[i * ldc + j0 + c] : 0.0;                   \
      }                                                                                  \
      for (uint k = 0; k < K; ++k) {                                                     \
        const float a = float(A[i * lda + k]);                                           \
        for (uint c = 0; c < cols; ++c) acc[c] += a * float(B_AT(B, j0 + c, k));         \
      }                                                                                  \
      for (uint c = 0; c < cols; ++c) C[i * ldc + j0 + c] = acc[c];                      \
    }                                                                                    \
  }

#define TILE_MMA_NT(NAME, C, A, B) TILE_PORTABLE_MMA(NAME, C, A, B, TILE_PORTABLE_B_NT)
#define TILE_MMA_NN(NAME, C, A, B) TILE_PORTABLE_MMA(NAME, C, A, B, TILE_PORTABLE_B_NN)
