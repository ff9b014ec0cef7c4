// The CUDA kernels' element decoder (decode_blocks.cuh) run on the host, for tests: the same
// functions the kernels call, so a machine without a GPU still checks the device decoding
// against the host codecs value by value.

#include "engine/backend/cuda/device_common.cuh"

namespace vkgraph::cuda {

bool decode_row_with_cuda_decoder(DType type, const void* blocks, float* out, int64_t n) {
  const auto* row = static_cast<const uint8_t*>(blocks);
  dispatch_weight_type(type, [&](auto weight) {
    constexpr DType W = decltype(weight)::value;
    for (int64_t k = 0; k < n; ++k) out[k] = load_element<W>(row, k);
  });
  return true;
}

}  // namespace vkgraph::cuda
