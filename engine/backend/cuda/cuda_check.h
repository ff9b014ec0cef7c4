#pragma once
// CUDA runtime errors as vkgraph Errors: the call that failed, the runtime's name and message.

#include <cuda_runtime_api.h>

#include <string_view>

namespace vkgraph::cuda {

// Throws an Error "cuda: <what>: <cudaErrorName> (<message>)" unless `status` is cudaSuccess.
void check(cudaError_t status, std::string_view what);

}  // namespace vkgraph::cuda
