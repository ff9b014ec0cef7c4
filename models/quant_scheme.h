#pragma once
// Quantization schemes: the names users give `vkgraph quantize --type`, `--weights` and
// `vkgraph synth --type` (q4_k_m, q8_0, bf16, ...), and for each one the type every tensor of a
// model gets. The mixes are llama.cpp's (its src/llama-quant.cpp, for the llama family and no
// importance matrix): a Q4_K_M file is mostly Q4_K, with Q6_K for the output matrix and for the
// attn_v and ffn_down matrices of some layers, and a fallback type for matrices whose rows do
// not fill the 256-element super-blocks (Q5_0 for Q4_K, Q8_0 for Q6_K, ...). Our q8_0 and q4_0
// convert every matrix to that type (llama.cpp would give a q4_0 file a q6_k output).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/dtype.h"

namespace vkgraph::models {

// How a scheme picks tensor types beyond its base type.
enum class MixRule : uint8_t {
  pure,   // every matrix in the base type (rows that do not fill a block keep their type)
  llama,  // llama.cpp's per-tensor mix for the scheme's llama_ftype, with its fallbacks
  plain,  // a float type (bf16): every matrix, no mix
};

struct QuantScheme {
  std::string_view name;  // "q4_k_m"
  uint32_t file_type;     // general.file_type: llama.cpp's llama_ftype (15 = MOSTLY_Q4_K_M)
  DType base;             // the type most matrices get
  MixRule rule;
};

// Every scheme, in the order `--help` lists them.
std::span<const QuantScheme> quant_schemes();
std::string quant_scheme_names();  // "q8_0, q4_0, q4_k_m, ..."
// The scheme called `name`; anything else throws naming `option` and the list.
const QuantScheme& find_quant_scheme(std::string_view name, std::string_view option);

// What the mix needs to know of the model (llama.cpp reads the same from the hyperparameters).
struct MixModel {
  std::string arch = "llama";
  int64_t n_layer = 0;
  int64_t n_head = 1, n_head_kv = 1;  // n_head / n_head_kv is the GQA factor
  bool tied_output = false;           // no output.weight: token_embd is also the output matrix
  int64_t n_attn_v = 0;               // attn_v (or fused attn_qkv) matrices in the model
};

// One tensor of the model, as the file has it.
struct TensorDesc {
  std::string name;
  std::vector<int64_t> shape;  // outermost first: [rows, cols]
  DType type;
};

struct TensorChoice {
  DType type;          // the tensor's type after conversion (its own when kept)
  bool converted;      // false: written byte for byte as it was
  std::string reason;  // why it keeps its type, or which rule gave a type other than the base
};

// The type of every tensor of a model under `scheme`, in the order given. Only matrices (rank
// 2) of F32, F16 or BF16 convert; norms and biases stay f32, already quantized matrices keep
// their type (a second rounding would only lose precision).
std::vector<TensorChoice> choose_tensor_types(const QuantScheme& scheme, const MixModel& model,
                                              std::span<const TensorDesc> tensors);

}  // namespace vkgraph::models
