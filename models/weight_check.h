#pragma once
// Non-finite values (NaN, +-inf) in weight data. A GGUF whose weights hold them loads and then
// computes garbage; these checks stop it at load with an error naming the tensor.
//
// Two depths. `scan_values` decodes every value (dequantize_row, so every type the engine reads
// is covered): the full scan of `--check-tensors`, and always for the small f32 vectors (norms,
// biases). `scan_scales` reads only the floats a quantized format stores per block, its f16
// scales, which is where such a file's non-finite values must sit (the quants are integers):
// cheap enough for every load. A quantized type without an entry in its table falls back to the
// full scan. Plain f16/f32 matrices have no scales: only the full scan reads them.

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "engine/core/dtype.h"

namespace vkgraph::models {

struct NonFinite {
  size_t count = 0;          // non-finite values (scales, for scan_scales)
  size_t first = 0;          // index of the first: element, or block for scan_scales
  float first_value = 0.0f;  // NaN or an infinity
  bool in_scales = false;    // found by scan_scales: `first` is a block index
};

// Every value of `elements` elements of `type` stored in `data`.
std::optional<NonFinite> scan_values(DType type, std::span<const std::byte> data, size_t elements);

// The block scales of a quantized tensor; nothing for a plain (f32, f16) one, which has none.
std::optional<NonFinite> scan_scales(DType type, std::span<const std::byte> data, size_t elements);

// "holds 3 non-finite values (the first, nan, at element 17)" / "... block scales (the first, inf,
// of block 4)".
std::string describe(const NonFinite& found);

}  // namespace vkgraph::models
