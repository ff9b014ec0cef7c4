#include "engine/backend/cuda/cuda_check.h"

#include "engine/core/error.h"

namespace vkgraph::cuda {

void check(cudaError_t status, std::string_view what) {
  if (status == cudaSuccess) return;
  fail("cuda: {}: {} ({})", what, cudaGetErrorName(status), cudaGetErrorString(status));
}

}  // namespace vkgraph::cuda
