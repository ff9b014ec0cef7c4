// How attention_split.comp reads keys: through a stage in shared memory, loaded by the whole
// workgroup so that consecutive invocations read consecutive elements of the cache. One header
// that both the shader and C++ compile: the kernel table sizes the shared memory from it, and
// tests/test_attention_split.cpp checks on it which addresses a subgroup reads in one load step
// (contiguous, a cache line or two) and which banks the dot products read the stage from.
//
// In the cache, a slot's key is D consecutive elements and consecutive slots are n_kv_head * D
// elements apart. An invocation that reads its own key dimension after dimension (as the kernel
// once did) has the lanes of a subgroup reading addresses a slot apart at every load: a cache line
// per lane. Instead the stage holds SPLIT_STAGE_KEYS keys x SPLIT_STAGE_DIMS dimensions (a slice
// of D), key-major, and element e of it is loaded by invocation e % wg at load step e / wg: 32
// consecutive invocations read 32 consecutive dimensions of one key.
//
// Each staged key's row is SPLIT_STAGE_DIMS + 1 floats long: the invocation owning key c reads
// row c at dimension dd, so the 32 lanes of a subgroup read 32 rows at one column; with rows of
// 32 floats these would all fall in one of the 32 four-byte banks of shared memory (a 32-way
// conflict), with 33 row c is at bank (c + dd) % 32.
#ifndef VKGRAPH_SHADERS_ATTENTION_SPLIT_KEY_STAGE_H
#define VKGRAPH_SHADERS_ATTENTION_SPLIT_KEY_STAGE_H

#ifdef __cplusplus
#include <cstdint>
namespace vkgraph::shaders::split_stage {
using uint = uint32_t;
#define VKGRAPH_STAGE_FN inline constexpr
#else
#define VKGRAPH_STAGE_FN
#endif

// Keys (cache slots) and dimensions per stage.
const uint SPLIT_STAGE_KEYS = 32u;
const uint SPLIT_STAGE_DIMS = 32u;
// Floats from one staged key to the next.
const uint SPLIT_STAGE_STRIDE = SPLIT_STAGE_DIMS + 1u;
// Floats of the stage.
const uint SPLIT_STAGE_FLOATS = SPLIT_STAGE_KEYS * SPLIT_STAGE_STRIDE;

// Load steps for a workgroup of wg invocations to fill a stage (wg divides its elements).
VKGRAPH_STAGE_FN uint stage_load_steps(uint wg) { return SPLIT_STAGE_KEYS * SPLIT_STAGE_DIMS / wg; }
// Which staged key (0 .. SPLIT_STAGE_KEYS - 1) invocation t loads at load step `step`.
VKGRAPH_STAGE_FN uint stage_load_key(uint t, uint step, uint wg) { return (step * wg + t) / SPLIT_STAGE_DIMS; }
// Which dimension of the slice (0 .. SPLIT_STAGE_DIMS - 1) invocation t loads at load step `step`.
VKGRAPH_STAGE_FN uint stage_load_dim(uint t, uint step, uint wg) { return (step * wg + t) % SPLIT_STAGE_DIMS; }
// Where dimension dd of the slice of staged key c lives in the stage.
VKGRAPH_STAGE_FN uint stage_index(uint c, uint dd) { return c * SPLIT_STAGE_STRIDE + dd; }
// The element of k[] holding dimension d of kv head kv_head's key in cache slot `slot`, for keys of
// head_dim elements, slots kv_stride elements apart and the tensor starting at element k_off.
VKGRAPH_STAGE_FN uint key_index(uint k_off, uint slot, uint kv_stride, uint kv_head, uint head_dim, uint d) {
  return k_off + slot * kv_stride + kv_head * head_dim + d;
}

#undef VKGRAPH_STAGE_FN
#ifdef __cplusplus
}  // namespace vkgraph::shaders::split_stage
#endif

#endif
