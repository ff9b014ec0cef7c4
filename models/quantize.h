#pragma once
// Converting F32/F16/BF16 weight matrices under a quantization scheme (models/quant_scheme.h:
// q8_0, q4_k_m, bf16, ...): the row-parallel conversion of one tensor, the scheme's choices for a
// whole model, and whole-file conversion for `vkgraph quantize`. Quantize on load
// (LoadOptions::weights) uses the same choices and conversion, so a model quantized while loading
// holds exactly the bytes of the same model quantized offline.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "models/gguf/gguf_reader.h"
#include "models/quant_scheme.h"

namespace vkgraph::models {

// What the scheme's mix needs of a GGUF model: its architecture, layer and head counts (from the
// metadata), whether output.weight is absent (tied), and its attn_v matrices.
MixModel mix_model_of(const gguf::GgufFile& file);

// The descriptions choose_tensor_types() takes, of some of a file's tensors.
std::vector<TensorDesc> describe_tensors(std::span<const gguf::TensorInfo* const> tensors);

// out: row_bytes(target, shape[1]) * shape[0] bytes, the rows of `data` (the tensor's bytes in
// its own type) converted to `target`. Rows are split over the machine's cores; the result does
// not depend on the split. Throws when the tensor is not a matrix whose rows fill target's blocks.
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
  std::vector<KeptTensor> kept;     // matrices that stayed in their type (vectors are not listed)
  size_t vectors_kept = 0;          // rank-1 tensors (norms, biases), which always stay
  std::vector<KeptTensor> changed;  // matrices that got a type other than the scheme's base, and why
  std::vector<std::pair<std::string, size_t>> tensors_by_type;  // converted tensors per type
};

// Writes `out_path`: `in_path` with every convertible tensor converted as `scheme` says and every
// other tensor byte for byte as it was; all metadata is copied in order, general.file_type set
// to the scheme's.
QuantizeSummary quantize_file(const std::string& in_path, const std::string& out_path, const QuantScheme& scheme);

}  // namespace vkgraph::models
