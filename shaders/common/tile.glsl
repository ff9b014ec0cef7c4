// The tile multiply-accumulate abstraction: kernels that multiply small tiles held in shared
// memory (attention's Q.K^T and P.V; matmul's tiles) are written once against these macros, and
// the variant picks the implementation:
//   VKGRAPH_COOPMAT (COOPMAT and COOPMAT_EMULATED variants): cooperative matrices at the
//       device's f16 x f16 + f32 -> f32 subgroup shape (tile_coopmat.glsl over
//       common/coopmat.glsl); chosen only where the device lists (or emulates) one.
//   otherwise: plain shared-memory loops any Vulkan device runs (tile_portable.glsl).
// The tiling, masking and softmax around the products are the same code on both paths, so the
// portable run on lavapipe tests what GPUs run.
//
// Each implementation defines:
//   TILE_T        the element type of A and B tiles in shared memory (float or float16_t);
//                 C (the accumulator) is always float.
//   TILE_GRANULE  M, N and K passed to the products must be multiples of it.
//   TILE_MMA_NT(NAME, C, A, B) defines
//       void NAME(uint M, uint N, uint K, uint lda, uint ldb, uint ldc, bool accumulate)
//     C[i*ldc + j] = (accumulate ? C[i*ldc + j] : 0) + sum_k A[i*lda + k] * B[j*ldb + k]
//     (B stored [N][K]: C = A . B^T, e.g. scores = Q . K^T).
//   TILE_MMA_NN(NAME, C, A, B) defines the same with B stored [K][N]: B[k*ldb + j] (O += P . V).
// A, B and C name shared arrays. Every invocation of the workgroup calls NAME in uniform control
// flow; the caller puts a barrier() between a product and any reader of C or writer of A/B.

#if defined(VKGRAPH_COOPMAT)
#include "common/tile_coopmat.glsl"
#else
#include "common/tile_portable.glsl"
#endif
