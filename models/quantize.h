#pragma once
// Converting F32/F16 weight matrices to Q8_0 or Q4_0: the rule for which tensors convert, the
// row-parallel conversion itself, and whole-file conversion for `vkgraph quantize`. Quantize on
// load (LoadOptions::weight_type) uses the same rule and conversion, so a model quantized while
// loading holds exactly the bytes of the same model quantized offline.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "models/gguf/gguf_reader.h"

namespace vkgraph::models {

// The `--weights` / `--type` argument: "q8_0" or "q4_0"; anything else throws naming `option`.
DType parse_weight_type(const std::string& name, const std::string& option);

// general.file_type for a file whose weights are mostly `type` (llama.cpp's llama_ftype:
// 0 all f32, 1 mostly f16, 2 mostly q4_0, 7 mostly q8_0).
uint32_t gguf_file_type(DType type);

// Why `tensor` stays in its type when converting to `target`, or nullopt when it converts.
// Only matrices (rank 2: projections, embeddings, the output) of F32 or F16 convert, and only
// when their rows fill whole blocks; norms and biases (rank 1) stay f32 because they are
// applied elementwise in f32.
std::optional<std::string> why_kept(const gguf::TensorInfo& tensor, DType target);

// out: row_bytes(target, shape[1]) * shape[0] bytes, the quantized rows of `data` (the tensor's
// bytes in its own type). Rows are split over the machine's cores; the result does not depend
// on the split.
void quantize_tensor(const gguf::TensorInfo& tensor, std::span<const std::byte> data, DType target,
                     std::span<std::byte> out);
std::vector<std::byte> quantize_tensor(const gguf::TensorInfo& tensor, std::span<const std::byte> data, DType target);

struct KeptTensor {
  std::string name;
  std::string reason;
};

struct QuantizeSummary {
  size_t tensors_total = 0;
  size_t tensors_converted = 0;
  uint64_t bytes_before = 0;  // tensor data, not counting headers and padding
  uint64_t bytes_after = 0;
  std::vector<KeptTensor> kept;  // matrices that stayed in their type (vectors are not listed)
  size_t vectors_kept = 0;       // rank-1 tensors (norms, biases), which always stay
};

// Writes `out_path`: `in_path` with every convertible tensor in `target` and every other tensor
// byte for byte as it was; all metadata is copied in order, general.file_type updated.
QuantizeSummary quantize_file(const std::string& in_path, const std::string& out_path, DType target);

}  // namespace vkgraph::models
