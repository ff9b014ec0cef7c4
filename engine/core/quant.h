#pragma once
// Reference quantization and dequantization of Q8_0 and Q4_0 rows on the host. These are the
// ground truth for the shaders and the converters of `--weights` and `vkgraph quantize`.

#include <cstddef>
#include <span>

#include "engine/core/dtype.h"

namespace vkgraph {

// out: n floats from `n` elements of `type` stored at `data` (n a multiple of the block size).
void dequantize_row(DType type, const void* data, float* out, size_t n);

// out: row_bytes(type, n) bytes. Rounds like ggml's reference quantizers, so files we write
// decode to the same values llama.cpp's converters would produce.
void quantize_row(DType type, const float* in, void* out, size_t n);

}  // namespace vkgraph
