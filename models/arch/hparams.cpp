#include "models/arch/hparams.h"

#include <fmt/format.h>

#include <cmath>

#include "engine/core/error.h"
#include "models/gguf/gguf_reader.h"

namespace vkgraph::models {
namespace {

struct ArchTraits {
  const char* name;
  RopeMode rope_mode;
  bool qkv_bias;
  bool qk_norm;
  bool sliding_window;     // {arch}.attention.sliding_window is honoured
  bool fused_projections;  // attn_qkv and a gate+up ffn_up instead of separate matrices
};

// Which llama-family variant does what. llama's converters permute q/k so the normal (adjacent
// pairs) RoPE applies; qwen's keep the Hugging Face layout, which rotates halves (NeoX).
// llama.cpp has no "mistral" architecture: Mistral's files are "llama" ones, and it gives a
// llama file full causal attention whatever attention.sliding_window says, so llama ignores the
// key here too; "mistral" (vkgraph's name for a llama body with a window) honours it.
// phi3 (Phi-3, 3.5, Phi-4-mini) rotates halves too; llama.cpp disables its sliding window (the
// converters do not record which layers have one), and so does vkgraph. gemma2 and gemma3 rotate
// halves and give the window to some layers only (read_gemma_layers); gemma3 norms q and k.
constexpr ArchTraits known_archs[] = {
    {"llama", RopeMode::normal, false, false, false, false}, {"mistral", RopeMode::normal, false, false, true, false},
    {"qwen2", RopeMode::neox, true, false, false, false},    {"qwen3", RopeMode::neox, false, true, false, false},
    {"phi3", RopeMode::neox, false, false, false, true},     {"gemma2", RopeMode::neox, false, false, true, false},
    {"gemma3", RopeMode::neox, false, true, true, false},
};

const ArchTraits& traits_of(const std::string& arch, const std::string& path) {
  for (const ArchTraits& t : known_archs) {
    if (arch == t.name) return t;
  }
  std::string names;
  for (const ArchTraits& t : known_archs) names += fmt::format("{}{}", names.empty() ? "" : ", ", t.name);
  fail("{}: architecture '{}' is not supported (supported: {})", path, arch, names);
}

int64_t positive(const GgufFile& f, const std::string& key, const std::string& path) {
  const uint64_t v = f.get_u64(key);
  VKGRAPH_CHECK(v > 0 && v <= (uint64_t(1) << 31), "{}: {} = {} is out of range", path, key, v);
  return int64_t(v);
}

// Which layers are local (sliding-window) ones, as llama.cpp derives it: the file's
// {arch}.attention.sliding_window_pattern, either one bool per layer or a period n (layer il is
// local iff il % n < n - 1: the last layer of every n is global; 0: every layer local), else the
// family's period (Gemma 2: 2, alternating from a local first layer; Gemma 3: 6, five local to
// one global).
std::vector<bool> local_layers(const GgufFile& f, const std::string& a, int64_t n_layer, uint32_t default_period,
                               const std::string& path) {
  const std::string key = a + "attention.sliding_window_pattern";
  std::vector<bool> local(size_t(n_layer), false);
  if (const gguf::Value* v = f.find(key); v != nullptr && gguf::value_type(*v) == gguf::ValueType::Array) {
    const auto* flags = std::get_if<std::vector<bool>>(&std::get<gguf::Array>(*v).elements);
    VKGRAPH_CHECK(flags != nullptr && int64_t(flags->size()) == n_layer,
                  "{}: {} must be an array of {} bools (one per layer) or a number", path, key, n_layer);
    return *flags;
  }
  const uint32_t period = f.find_u32(key).value_or(default_period);
  for (int64_t il = 0; il < n_layer; ++il) local[size_t(il)] = period == 0 || uint32_t(il) % period < period - 1;
  return local;
}

// Gemma 2 and 3: each layer's window and rotation, the query scale and the soft-caps, with
// llama.cpp's defaults where the file is silent (gemma2: window 4096, caps 50 on scores and 30
// on logits; gemma3: no window unless the file gives one, no caps unless it sets the final one).
void read_gemma(const GgufFile& f, const std::string& a, Hparams& hp, const std::string& path) {
  const bool gemma2 = hp.arch == "gemma2";
  // Local layers rotate with their own base: gemma2's is the global one unless the file says,
  // gemma3's is 10000 unless the file says, and their positions are never scaled (gemma3).
  RopeParams local_rope = hp.rope;
  if (gemma2) {
    hp.sliding_window = int32_t(f.find_u32(a + "attention.sliding_window").value_or(4096));
    hp.attn_softcap = f.find_f32(a + "attn_logit_softcapping").value_or(50.0f);
    hp.final_softcap = f.find_f32(a + "final_logit_softcapping").value_or(30.0f);
    local_rope.freq_base = f.find_f32(a + "rope.freq_base_swa").value_or(hp.rope.freq_base);
  } else {
    hp.sliding_window = int32_t(f.find_u32(a + "attention.sliding_window").value_or(0));
    hp.final_softcap = f.find_f32(a + "final_logit_softcapping").value_or(0.0f);
    local_rope.freq_base = f.find_f32(a + "rope.freq_base_swa").value_or(10000.0f);
    local_rope.freq_scale = 1.0f;
  }
  VKGRAPH_CHECK(hp.sliding_window >= 0, "{}: {}attention.sliding_window {} is out of range", path, a,
                hp.sliding_window);
  VKGRAPH_CHECK(hp.attn_softcap >= 0.0f && std::isfinite(hp.attn_softcap),
                "{}: {}attn_logit_softcapping {} must be "
                "positive (or 0: none)",
                path, a, hp.attn_softcap);
  VKGRAPH_CHECK(hp.final_softcap >= 0.0f && std::isfinite(hp.final_softcap),
                "{}: {}final_logit_softcapping {} must "
                "be positive (or 0: none)",
                path, a, hp.final_softcap);
  VKGRAPH_CHECK(local_rope.freq_base > 0.0f, "{}: {}rope.freq_base_swa {} must be positive", path, a,
                local_rope.freq_base);
  if (hp.sliding_window > 0) {
    const std::vector<bool> local = local_layers(f, a, hp.n_layer, gemma2 ? 2 : 6, path);
    for (int64_t il = 0; il < hp.n_layer; ++il) {
      if (!local[size_t(il)]) continue;
      hp.layers[size_t(il)].window = hp.sliding_window;
      hp.layers[size_t(il)].rope = local_rope;
    }
  }
  // llama.cpp's f_attention_scale (after gemma_pytorch's query_pre_attn_scalar, which the
  // converters do not store): 1/sqrt(n_embd / n_head) for the 27B shapes (46 layers of Gemma 2,
  // 62 of Gemma 3), 1/sqrt(head size) otherwise.
  const bool is_27b = hp.n_layer == (gemma2 ? 46 : 62);
  hp.query_scale = 1.0f / std::sqrt(float(is_27b ? hp.n_embd / hp.n_head : hp.head_dim));
}

}  // namespace

const char* pooling_name(Pooling pooling) {
  switch (pooling) {
    case Pooling::none:
      return "none";
    case Pooling::mean:
      return "mean";
    case Pooling::cls:
      return "cls";
    case Pooling::last:
      return "last";
    case Pooling::rank:
      return "rank";
  }
  return "?";
}

Hparams read_hparams(const GgufFile& f, const std::string& path) {
  Hparams hp;
  hp.arch = f.architecture();
  const ArchTraits& traits = traits_of(hp.arch, path);
  const std::string a = hp.arch + ".";
  hp.name = f.find_string("general.name").value_or(hp.arch);
  hp.n_embd = positive(f, a + "embedding_length", path);
  hp.n_layer = positive(f, a + "block_count", path);
  // Every block has tensors of its own: a count beyond the file's tensors is a hostile or broken
  // header, refused before per-layer tables are allocated from it.
  VKGRAPH_CHECK(uint64_t(hp.n_layer) <= f.tensors().size(), "{}: block_count {} exceeds the file's {} tensors", path,
                hp.n_layer, f.tensors().size());
  hp.n_head = positive(f, a + "attention.head_count", path);
  hp.n_head_kv = f.has(a + "attention.head_count_kv") ? positive(f, a + "attention.head_count_kv", path) : hp.n_head;
  hp.n_ff = positive(f, a + "feed_forward_length", path);
  hp.n_ctx_train = f.find_u64(a + "context_length").value_or(0);
  hp.rms_eps = f.find_f32(a + "attention.layer_norm_rms_epsilon").value_or(1e-5f);
  VKGRAPH_CHECK(hp.rms_eps > 0.0f && hp.rms_eps < 1.0f, "{}: RMSNorm epsilon {} is out of range", path, hp.rms_eps);
  VKGRAPH_CHECK(hp.n_head % hp.n_head_kv == 0, "{}: {} attention heads cannot share {} KV heads evenly", path,
                hp.n_head, hp.n_head_kv);
  hp.head_dim =
      f.has(a + "attention.key_length") ? positive(f, a + "attention.key_length", path) : hp.n_embd / hp.n_head;
  VKGRAPH_CHECK(f.has(a + "attention.key_length") || hp.n_embd % hp.n_head == 0,
                "{}: embedding length {} is not a multiple of {} heads", path, hp.n_embd, hp.n_head);
  if (const auto v = f.find_u64(a + "attention.value_length")) {
    VKGRAPH_CHECK(int64_t(*v) == hp.head_dim, "{}: value length {} differs from key length {}", path, *v, hp.head_dim);
  }

  hp.rope.mode = traits.rope_mode;
  hp.rope.freq_base = f.find_f32(a + "rope.freq_base").value_or(10000.0f);
  hp.rope.n_rot = int32_t(f.find_u64(a + "rope.dimension_count").value_or(uint64_t(hp.head_dim)));
  VKGRAPH_CHECK(hp.rope.n_rot > 0 && hp.rope.n_rot <= hp.head_dim && hp.rope.n_rot % 2 == 0,
                "{}: rope dimension count {} must be even and at most the head size {}", path, hp.rope.n_rot,
                hp.head_dim);
  const std::string scaling = f.find_string(a + "rope.scaling.type").value_or("none");
  if (scaling == "linear") {
    const float factor = f.get_f32(a + "rope.scaling.factor");
    VKGRAPH_CHECK(factor > 0.0f, "{}: rope scaling factor {} must be positive", path, factor);
    hp.rope.freq_scale = 1.0f / factor;
  } else {
    VKGRAPH_CHECK(scaling == "none", "{}: rope scaling type '{}' is not supported (none, linear)", path, scaling);
  }
  hp.layers.assign(size_t(hp.n_layer), LayerHparams{0, hp.rope});
  if (hp.arch == "gemma2" || hp.arch == "gemma3") {
    read_gemma(f, a, hp, path);
    hp.post_norms = true;
  } else if (traits.sliding_window) {
    hp.sliding_window = int32_t(f.find_u32(a + "attention.sliding_window").value_or(0));
    for (LayerHparams& layer : hp.layers) layer.window = hp.sliding_window;
  }
  hp.qkv_bias = traits.qkv_bias;
  hp.qk_norm = traits.qk_norm;
  hp.fused_projections = traits.fused_projections;
  hp.rope_original_context = int64_t(f.find_u64(a + "rope.scaling.original_context_length").value_or(0));
  if (hp.rope_original_context == 0) hp.rope_original_context = hp.n_ctx_train;
  hp.rope_attn_factor = f.find_f32(a + "rope.scaling.attn_factor").value_or(1.0f);
  VKGRAPH_CHECK(std::isfinite(hp.rope_attn_factor) && hp.rope_attn_factor > 0.0f,
                "{}: {}rope.scaling.attn_factor = {} must be a positive number", path, a, hp.rope_attn_factor);
  // LongRoPE comes as a pair: one set without the other would leave some contexts without factors.
  const bool long_factors = f.find_tensor("rope_factors_long.weight") != nullptr;
  const bool short_factors = f.find_tensor("rope_factors_short.weight") != nullptr;
  VKGRAPH_CHECK(long_factors == short_factors,
                "{}: LongRoPE needs both rope_factors_long.weight and "
                "rope_factors_short.weight, the file has only {}",
                path, long_factors ? "rope_factors_long.weight" : "rope_factors_short.weight");
  hp.tied_output = f.find_tensor("output.weight") == nullptr;
  const uint32_t pooling = f.find_u32(a + "pooling_type").value_or(0);
  VKGRAPH_CHECK(pooling <= uint32_t(Pooling::rank),
                "{}: {}pooling_type = {} is unknown (0 none, 1 mean, 2 cls, 3 last, 4 rank)", path, a, pooling);
  hp.pooling = Pooling(pooling);
  const auto& embd = f.tensor("token_embd.weight");
  VKGRAPH_CHECK(embd.shape.size() == 2 && embd.shape[1] == hp.n_embd,
                "{}: token_embd.weight has shape {} but the embedding length is {}", path, fmt::join(embd.shape, "x"),
                hp.n_embd);
  hp.n_vocab = embd.shape[0];
  return hp;
}

}  // namespace vkgraph::models
