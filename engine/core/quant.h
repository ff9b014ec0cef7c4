#pragma once
// Reference quantization and dequantization of rows on the host, through the codecs of the
// weight-type table (dtype_info(type).decode / .encode, engine/core/codecs.h). These are the
// ground truth for the kernels and the converters of `--weights` and `vkgraph quantize`.

#include <cstddef>

#include "engine/core/blocks.h"
#include "engine/core/dtype.h"

namespace vkgraph {

// out: n floats from `n` elements of `type` stored at `data` (n a multiple of the block size).
void dequantize_row(DType type, const void* data, float* out, size_t n);

// out: row_bytes(type, n) bytes of `type` from n floats (n a multiple of the block size).
void quantize_row(DType type, const float* in, void* out, size_t n);

}  // namespace vkgraph
