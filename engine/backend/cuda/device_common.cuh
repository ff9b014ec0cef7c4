#pragma once
// Device helpers shared by the kernel files: element loads of every weight type, block
// reductions, grid sizing, the bad-index report and RoPE angles.

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

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

__device__ inline float half_bits_to_float(const uint8_t* p) {
  return __half2float(__ushort_as_half(*reinterpret_cast<const unsigned short*>(p)));
}

// Element k of a row of type T, stored at `row` (ggml's block layouts, see engine/core/dtype.h).
// Q8_0 and Q4_0 blocks are 34 and 18 bytes, so their f16 scale is 2-byte aligned.
template <DType T>
__device__ inline float load_element(const uint8_t* row, int64_t k) {
  if constexpr (T == DType::F32) {
    return reinterpret_cast<const float*>(row)[k];
  } else if constexpr (T == DType::F16) {
    return __half2float(reinterpret_cast<const __half*>(row)[k]);
  } else if constexpr (T == DType::Q8_0) {
    const uint8_t* block = row + (k / 32) * 34;
    return half_bits_to_float(block) * float(int8_t(block[2 + k % 32]));
  } else {
    static_assert(T == DType::Q4_0);
    const uint8_t* block = row + (k / 32) * 18;
    const int j = int(k % 32);
    const uint8_t byte = block[2 + (j & 15)];
    const int q = j < 16 ? (byte & 0x0f) : (byte >> 4);
    return half_bits_to_float(block) * float(q - 8);
  }
}

// Expands CALL(T) for the runtime weight type `type` (a C++17 stand-in for a template lambda:
// CMake 3.25 cannot ask nvcc for C++20).
#define VKGRAPH_CUDA_WEIGHT_SWITCH(type, CALL) \
  switch (type) {                              \
    case DType::F32:                           \
      CALL(DType::F32);                        \
      break;                                   \
    case DType::F16:                           \
      CALL(DType::F16);                        \
      break;                                   \
    case DType::Q8_0:                          \
      CALL(DType::Q8_0);                       \
      break;                                   \
    case DType::Q4_0:                          \
      CALL(DType::Q4_0);                       \
      break;                                   \
    case DType::I32:                           \
      break;                                   \
  }

__device__ inline float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
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

// cos and sin of theta = pos * freq_scale * base^(-2k/n_rot). The angle is formed and reduced to
// [-pi, pi] in double: at positions in the thousands a float angle alone would be off by ~1e-4.
__device__ inline void rope_angle(const RopeArgs& r, int32_t pos, int k, float* c, float* s) {
  constexpr double two_pi = 6.283185307179586476925286766559;
  const double theta = double(pos) * double(r.freq_scale) * pow(double(r.freq_base), -2.0 * k / r.n_rot);
  const double reduced = theta - two_pi * rint(theta / two_pi);
  sincosf(float(reduced), s, c);
}

// The indices of rotated pair k within a head.
__device__ inline void rope_pair(const RopeArgs& r, int k, int* i0, int* i1) {
  *i0 = r.neox ? k : 2 * k;
  *i1 = r.neox ? k + r.n_rot / 2 : 2 * k + 1;
}

}  // namespace vkgraph::cuda
