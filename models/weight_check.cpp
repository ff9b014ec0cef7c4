#include "models/weight_check.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "engine/core/blocks.h"
#include "engine/core/fp16.h"
#include "engine/core/quant.h"

namespace vkgraph::models {
namespace {

// Where a quantized block keeps its f16 scales (bytes from the block's start): ggml's layouts
// (engine/core/blocks.h). Every float of these formats is listed (d, and m or dmin where the
// format has one), so scanning them finds every non-finite value a file can hold; the quants and
// the K-quants' sub-block scales are integers. A type added to the engine without a line here is
// scanned in full instead (correct, but a dequantization of every weight at every load).
std::optional<std::span<const size_t>> scale_offsets(DType type) {
  static constexpr size_t q8_0[] = {offsetof(BlockQ8_0, d)};
  static constexpr size_t q4_0[] = {offsetof(BlockQ4_0, d)};
  static constexpr size_t q4_1[] = {offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)};
  static constexpr size_t q5_0[] = {offsetof(BlockQ5_0, d)};
  static constexpr size_t q5_1[] = {offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)};
  static constexpr size_t iq4_nl[] = {offsetof(BlockIQ4_NL, d)};
  static constexpr size_t q2_k[] = {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)};
  static constexpr size_t q3_k[] = {offsetof(BlockQ3_K, d)};
  static constexpr size_t q4_k[] = {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
  static constexpr size_t q5_k[] = {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
  static constexpr size_t q6_k[] = {offsetof(BlockQ6_K, d)};
  static constexpr size_t iq4_xs[] = {offsetof(BlockIQ4_XS, d)};  // scales_h and scales_l are integers
  switch (type) {
    case DType::Q8_0:
      return std::span<const size_t>(q8_0);
    case DType::Q4_0:
      return std::span<const size_t>(q4_0);
    case DType::Q4_1:
      return std::span<const size_t>(q4_1);
    case DType::Q5_0:
      return std::span<const size_t>(q5_0);
    case DType::Q5_1:
      return std::span<const size_t>(q5_1);
    case DType::IQ4_NL:
      return std::span<const size_t>(iq4_nl);
    case DType::Q2_K:
      return std::span<const size_t>(q2_k);
    case DType::Q3_K:
      return std::span<const size_t>(q3_k);
    case DType::Q4_K:
      return std::span<const size_t>(q4_k);
    case DType::Q5_K:
      return std::span<const size_t>(q5_k);
    case DType::Q6_K:
      return std::span<const size_t>(q6_k);
    case DType::IQ4_XS:
      return std::span<const size_t>(iq4_xs);
    default:
      return std::nullopt;
  }
}

void note(NonFinite& found, size_t index, float value) {
  if (found.count++ == 0) {
    found.first = index;
    found.first_value = value;
  }
}

}  // namespace

std::optional<NonFinite> scan_values(DType type, std::span<const std::byte> data, size_t elements) {
  const DTypeInfo& info = dtype_info(type);
  NonFinite found;
  // A few thousand values at a time: the decoded copy stays in cache.
  const size_t chunk_blocks = std::max<size_t>(1, 4096 / info.block_elements);
  std::vector<float> values(chunk_blocks * info.block_elements);
  const size_t blocks = elements / info.block_elements;
  for (size_t b = 0; b < blocks; b += chunk_blocks) {
    const size_t n_blocks = std::min(chunk_blocks, blocks - b);
    const size_t n = n_blocks * info.block_elements;
    dequantize_row(type, data.data() + b * info.block_bytes, values.data(), n);
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(values[i])) note(found, b * info.block_elements + i, values[i]);
    }
  }
  if (found.count == 0) return std::nullopt;
  return found;
}

std::optional<NonFinite> scan_scales(DType type, std::span<const std::byte> data, size_t elements) {
  const DTypeInfo& info = dtype_info(type);
  if (!info.quantized) return std::nullopt;  // no scales: only scan_values reads a plain tensor
  const auto offsets = scale_offsets(type);
  if (!offsets) return scan_values(type, data, elements);
  NonFinite found;
  found.in_scales = true;
  const size_t blocks = elements / info.block_elements;
  for (size_t b = 0; b < blocks; ++b) {
    for (size_t offset : *offsets) {
      uint16_t h;
      std::memcpy(&h, data.data() + b * info.block_bytes + offset, sizeof h);
      if ((h & 0x7c00u) == 0x7c00u) note(found, b, half_to_float(h));  // exponent all ones: inf or NaN
    }
  }
  if (found.count == 0) return std::nullopt;
  return found;
}

std::string describe(const NonFinite& found) {
  if (found.in_scales) {
    return fmt::format("holds {} non-finite block scale{} (the first, {}, of block {})", found.count,
                       found.count == 1 ? "" : "s", found.first_value, found.first);
  }
  return fmt::format("holds {} non-finite value{} (the first, {}, at element {})", found.count,
                     found.count == 1 ? "" : "s", found.first_value, found.first);
}

}  // namespace vkgraph::models
