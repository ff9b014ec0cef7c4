// The CUDA backend in a build without it (VKGRAPH_CUDA=OFF, or AUTO without a CUDA toolkit):
// the probe says why, and asking for the backend is a clear error.

#include <fmt/format.h>

#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/cuda/kernels.h"
#include "engine/core/error.h"

namespace vkgraph::cuda {

bool cuda_built_in() { return false; }

const CudaProbe& probe_cuda() {
  static const CudaProbe probe = [] {
    CudaProbe p;
    p.reason = "this build has no CUDA backend (configure with a CUDA toolkit and -DVKGRAPH_CUDA=ON)";
    return p;
  }();
  return probe;
}

std::unique_ptr<Backend> create_cuda_backend(const std::string&) { fail("no CUDA device: {}", probe_cuda().reason); }

bool decode_row_with_cuda_decoder(DType, const void*, float*, int64_t) { return false; }

std::string sm_name(const CudaDeviceInfo& device) {
  return fmt::format("sm_{}{}", device.compute_major, device.compute_minor);
}

}  // namespace vkgraph::cuda
