// Element-wise and row-wise kernels: norms, arithmetic with broadcasting, activations, softmax,
// argmax, conversions. Rows are the last dimension; one block of kBlock threads per row.

#include "engine/backend/cuda/device_common.cuh"

namespace vkgraph::cuda {
namespace {

// x, y: [rows, n]; w: [n] or null
__global__ void rms_norm_kernel(const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps) {
  __shared__ float scratch[kBlock / 32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * n;
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += kBlock) sum += xr[i] * xr[i];
    sum = block_reduce<false>(sum, scratch);
    const float inv = rsqrtf(sum / float(n) + eps);
    for (int64_t i = threadIdx.x; i < n; i += kBlock) {
      const float normed = xr[i] * inv;  // rounded before the weight, as the unfused pair is
      y[r * n + i] = w != nullptr ? normed * w[i] : normed;
    }
  }
}

// a, y: [n]; b: [nb]
__global__ void binary_kernel(Binary op, const float* a, const float* b, float* y, int64_t n, int64_t nb) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    y[i] = op == Binary::add ? a[i] + b[i % nb] : a[i] * b[i % nb];
  }
}

__device__ inline float silu(float x) { return x / (1.0f + expf(-x)); }

// x, up, y: [n]
__global__ void unary_kernel(Unary op, const float* x, const float* up, float* y, int64_t n, float factor) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    switch (op) {
      case Unary::scale:
        y[i] = x[i] * factor;
        break;
      case Unary::silu:
        y[i] = silu(x[i]);
        break;
      case Unary::swiglu:
        y[i] = silu(x[i]) * up[i];
        break;
      case Unary::gelu: {
        const float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v)));
        break;
      }
      case Unary::softcap:
        y[i] = factor * tanhf(x[i] / factor);
        break;
    }
  }
}

// x, y: [rows, n]
__global__ void softmax_kernel(const float* x, float* y, int64_t rows, int64_t n, float scale) {
  __shared__ float scratch[kBlock / 32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * n;
    float max = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += kBlock) max = fmaxf(max, xr[i] * scale);
    max = block_reduce<true>(max, scratch);
    if (max == -INFINITY) {  // every score masked: zeros, as on every backend (not NaN)
      for (int64_t i = threadIdx.x; i < n; i += kBlock) y[r * n + i] = 0.0f;
      continue;  // the same for the whole block: no barrier of the next row is skipped by some
    }
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += kBlock) sum += expf(xr[i] * scale - max);
    sum = block_reduce<false>(sum, scratch);
    for (int64_t i = threadIdx.x; i < n; i += kBlock) y[r * n + i] = expf(xr[i] * scale - max) / sum;
  }
}

// x: [rows, n] -> y: [rows]. Each thread keeps the first maximum of its stride; the reduction
// prefers the smaller index on ties, so the result is the first maximum of the row.
__global__ void argmax_kernel(const float* x, int32_t* y, int64_t rows, int64_t n) {
  __shared__ float best_value[kBlock];
  __shared__ int64_t best_index[kBlock];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * n;
    float value = -INFINITY;
    int64_t index = n;  // none yet: loses every comparison
    for (int64_t i = threadIdx.x; i < n; i += kBlock) {
      if (index == n || xr[i] > value) {
        value = xr[i];
        index = i;
      }
    }
    __syncthreads();
    best_value[threadIdx.x] = value;
    best_index[threadIdx.x] = index;
    __syncthreads();
    for (int stride = kBlock / 2; stride > 0; stride >>= 1) {
      if (int(threadIdx.x) < stride) {
        const float v = best_value[threadIdx.x + stride];
        const int64_t k = best_index[threadIdx.x + stride];
        const int64_t mine = best_index[threadIdx.x];
        const bool better =
            k != n && (mine == n || v > best_value[threadIdx.x] || (v == best_value[threadIdx.x] && k < mine));
        if (better) {
          best_value[threadIdx.x] = v;
          best_index[threadIdx.x] = k;
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) y[r] = int32_t(best_index[0]);
  }
}

__global__ void f32_to_f16_kernel(const float* x, __half* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    y[i] = __float2half_rn(x[i]);
  }
}

__global__ void f16_to_f32_kernel(const __half* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    y[i] = __half2float(x[i]);
  }
}

}  // namespace

void launch_rms_norm(const Launch& l, const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps) {
  rms_norm_kernel<<<grid_for(rows, 1), kBlock, 0, l.stream>>>(x, w, y, rows, n, eps);
}

void launch_binary(const Launch& l, Binary op, const float* a, const float* b, float* y, int64_t n, int64_t nb) {
  binary_kernel<<<grid_for(n), kBlock, 0, l.stream>>>(op, a, b, y, n, nb);
}

void launch_unary(const Launch& l, Unary op, const float* x, const float* up, float* y, int64_t n, float factor) {
  unary_kernel<<<grid_for(n), kBlock, 0, l.stream>>>(op, x, up, y, n, factor);
}

void launch_softmax(const Launch& l, const float* x, float* y, int64_t rows, int64_t n, float scale) {
  softmax_kernel<<<grid_for(rows, 1), kBlock, 0, l.stream>>>(x, y, rows, n, scale);
}

void launch_argmax(const Launch& l, const float* x, int32_t* y, int64_t rows, int64_t n) {
  argmax_kernel<<<grid_for(rows, 1), kBlock, 0, l.stream>>>(x, y, rows, n);
}

void launch_convert(const Launch& l, DType from, DType to, const void* x, void* y, int64_t n) {
  if (from == to) {
    cudaMemcpyAsync(y, x, size_t(n) * (to == DType::F16 ? 2 : 4), cudaMemcpyDeviceToDevice, l.stream);
  } else if (from == DType::F32) {
    f32_to_f16_kernel<<<grid_for(n), kBlock, 0, l.stream>>>(static_cast<const float*>(x), static_cast<__half*>(y), n);
  } else {
    f16_to_f32_kernel<<<grid_for(n), kBlock, 0, l.stream>>>(static_cast<const __half*>(x), static_cast<float*>(y), n);
  }
}

}  // namespace vkgraph::cuda
