#pragma once
// The hyperparameters of a llama-family model, read from GGUF metadata.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph/graph.h"

namespace vkgraph::gguf {
class GgufFile;
}
namespace vkgraph::models {
using gguf::GgufFile;

// How an embedding pools a sequence's final hidden states: GGUF `{arch}.pooling_type`, with
// llama.cpp's values.
enum class Pooling : int32_t { none = 0, mean = 1, cls = 2, last = 3, rank = 4 };

const char* pooling_name(Pooling pooling);  // "none", "mean", "cls", "last", "rank"

// What may differ from layer to layer: Gemma's local (sliding-window) and global layers attend
// over different spans and rotate with different RoPE bases. Every family fills one per layer.
struct LayerHparams {
  int32_t window = 0;  // keys at this many positions or more before the query are not seen; 0: none
  RopeParams rope;     // this layer's rotation of q and k
};

struct Hparams {
  std::string arch;  // general.architecture: llama, mistral, qwen2, qwen3, phi3, gemma2, gemma3
  std::string name;  // general.name, for logs and bench rows
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;  // {arch}.attention.key_length, else n_embd / n_head
  int64_t n_ff = 0;
  float rms_eps = 1e-5f;
  RopeParams rope;  // mode from the architecture, base/scale/n_rot from the file
  // LongRoPE (Phi-3.5, Phi-4-mini: rope_factors_long/short.weight): a context longer than this
  // rotates with the long factor set, else with the short one ({arch}.rope.scaling.
  // original_context_length, else the training context, as llama.cpp reads it).
  int64_t rope_original_context = 0;
  // {arch}.rope.scaling.attn_factor (1 when absent): llama.cpp multiplies the rotated dimensions
  // of q and k by it (ggml's attn_factor scales cos and sin), so their share of every score
  // grows by its square. LongRoPE files carry sqrt(1 + ln(scale) / ln(original context)).
  float rope_attn_factor = 1.0f;
  int32_t sliding_window = 0;        // mistral, gemma: keys older than this many positions are not seen
  std::vector<LayerHparams> layers;  // n_layer: each layer's window and rotation (hp.rope, or gemma's own)
  // Gemma: q is multiplied by this before attention (llama.cpp's f_attention_scale: 1/sqrt of
  // the head size, or of n_embd / n_head for the 27B shapes), and the score scale is 1.
  float query_scale = 0.0f;         // 0: scores scaled by 1/sqrt(head_dim) as usual
  float attn_softcap = 0.0f;        // gemma2: attention scores soft-capped at this (0: none)
  float final_softcap = 0.0f;       // gemma2 (gemma3 if the file says): logits soft-capped at this
  bool qkv_bias = false;            // qwen2: q, k and v projections have biases
  bool qk_norm = false;             // qwen3: RMSNorm over each head of q and k before RoPE
  bool fused_projections = false;   // phi3: attn_qkv (q, k, v rows) and ffn_up (gate, up rows)
  bool post_norms = false;          // gemma: RMSNorm of the attention's and the FFN's outputs too
  bool tied_output = false;         // no output.weight: the token embedding doubles as the output
  Pooling pooling = Pooling::none;  // {arch}.pooling_type; none when absent (as llama.cpp)
};

// Reads and checks the hyperparameters; unknown architectures are refused with their name.
Hparams read_hparams(const GgufFile& file, const std::string& path);

}  // namespace vkgraph::models
