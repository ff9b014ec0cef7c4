#pragma once
// Device helpers shared by the kernel files: element loads of every weight type
// (decode_blocks.cuh) and the dispatch over them, block reductions, grid sizing, the bad-index
// report and RoPE angles.

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "engine/backend/cuda/decode_blocks.cuh"
#include "engine/backend/cuda/kernels.h"

namespace vkgraph::cuda {

// Threads a block for the element-wise and row kernels: a multiple of the warp size that every
// architecture from sm_75 on runs at full occupancy.
constexpr int kBlock = 256;

// Grid-stride loops cap the grid; 65535 blocks is within every limit (x, y and z).
inline unsigned grid_for(int64_t items, int per_block = kBlock) {
  const int64_t blocks = (items + per_block - 1) / per_block;
  return unsigned(blocks < 1 ? 1 : (blocks > 65535 ? 65535 : blocks));
}

// Calls f(std::integral_constant<DType, T>{}) for the runtime weight type `type`: every weight
// type of engine/core/weight_types.def (a C++17 stand-in for a template lambda: CMake 3.25 cannot
// ask nvcc for C++20). I32 is never a weight: the graph refuses it before any launch.
template <typename F>
void dispatch_weight_type(DType type, F&& f) {
  switch (type) {
#define VKGRAPH_TYPE(Enum, name, ggml_id, block_elements, block_bytes, vulkan)                \
  case DType::Enum:                                                                           \
    if constexpr (DType::Enum != DType::I32) f(std::integral_constant<DType, DType::Enum>{}); \
    break;
#include "engine/core/weight_types.def"
#undef VKGRAPH_TYPE
  }
}

__device__ inline float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// An attention score soft-capped to softcap * tanh(s / softcap) when softcap > 0 (Gemma 2).
__device__ inline float capped_score(float s, float softcap) {
  return softcap > 0.0f ? softcap * tanhf(s / softcap) : s;
}

__device__ inline float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum or max over a block of kBlock threads; every thread gets the result. `scratch` holds
// kBlock / 32 floats; the function may be called again with the same scratch after it returns.
template <bool Max>
__device__ inline float block_reduce(float v, float* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = Max ? warp_max(v) : warp_sum(v);
  __syncthreads();  // a previous call's readers are done with scratch
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float r = scratch[0];
  for (int w = 1; w < kBlock / 32; ++w) r = Max ? fmaxf(r, scratch[w]) : r + scratch[w];
  return r;
}

// Marks the run as failed with this step's code (the first failure wins).
__device__ inline void report_bad_index(int* error, int code) { atomicCAS(error, 0, code); }

// cos and sin of theta = pos * freq_scale * base^(-2k/n_rot) / freq_factors[k]. The angle is formed and reduced to
// [-pi, pi] in double: at positions in the thousands a float angle alone would be off by ~1e-4.
__device__ inline void rope_angle(const RopeArgs& r, int32_t pos, int k, float* c, float* s) {
  constexpr double two_pi = 6.283185307179586476925286766559;
  const double theta = double(pos) * double(r.freq_scale) * pow(double(r.freq_base), -2.0 * k / r.n_rot) /
                       (r.freq_factors != nullptr ? double(r.freq_factors[k]) : 1.0);
  const double reduced = theta - two_pi * rint(theta / two_pi);
  sincosf(float(reduced), s, c);
}

// The indices of rotated pair k within a head.
__device__ inline void rope_pair(const RopeArgs& r, int k, int* i0, int* i1) {
  *i0 = r.neox ? k : 2 * k;
  *i1 = r.neox ? k + r.n_rot / 2 : 2 * k + 1;
}

}  // namespace vkgraph::cuda
