// The shared-memory layout of matmul_tiled.comp's operand tiles, in one header that both the
// shader and C++ compile: the kernel table sizes the shared memory from it, and
// tests/test_gpu_defect6_matmul.cpp checks on it that a subgroup's reads are free of bank
// conflicts.
//
// Each tile is R rows (tokens of x, or output rows of w) by BK values of n_in, row-major, with
// the rows TILED_PAD floats longer than BK. In one k step of the product, invocation t reads
// rows (t / (BN / TN)) * TM + i of xs and (t % (BN / TN)) * TN + j of ws at column k: with an
// unpadded stride of BK = 32 floats, the 8 different rows a 32-lane subgroup reads from ws are
// 128 floats apart, all in one of the 32 four-byte banks GPUs split shared memory into (an
// 8-way conflict, 4-way for xs). One float of padding puts row r at bank (r + k) % 32, so the
// rows a subgroup reads fall in distinct banks (and lanes reading the same row read the same
// address: a broadcast).
#ifndef VKGRAPH_SHADERS_MATMUL_TILED_LAYOUT_H
#define VKGRAPH_SHADERS_MATMUL_TILED_LAYOUT_H

#ifdef __cplusplus
#include <cstdint>
namespace vkgraph::shaders::tiled {
using uint = uint32_t;
#define VKGRAPH_TILED_FN inline constexpr
#else
#define VKGRAPH_TILED_FN
#endif

// Register tile per invocation: TM tokens x TN output rows of accumulators.
const uint TILED_TM = 4u;
const uint TILED_TN = 4u;
// Floats of padding after each row of a tile.
const uint TILED_PAD = 1u;

// Floats from one row of a tile to the next.
VKGRAPH_TILED_FN uint tiled_row_stride(uint bk) { return bk + TILED_PAD; }
// Where element (row r, column k) of a tile with BK = bk columns lives.
VKGRAPH_TILED_FN uint tiled_index(uint r, uint k, uint bk) { return r * tiled_row_stride(bk) + k; }

#undef VKGRAPH_TILED_FN
#ifdef __cplusplus
// Bytes of shared memory the kernel declares for BM x BK activations and BN x BK weights (f32).
inline constexpr uint32_t tiled_shared_bytes(uint32_t bm, uint32_t bn, uint32_t bk) {
  return (bm + bn) * tiled_row_stride(bk) * 4;
}
}  // namespace vkgraph::shaders::tiled
#endif

#endif
