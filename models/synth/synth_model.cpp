#include "models/synth/synth_model.h"

#include <fmt/format.h>

#include <cmath>
#include <utility>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/quant.h"
#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_writer.h"
#include "models/quant_scheme.h"
#include "models/synth/synth_tensors.h"
#include "models/synth/synth_vocab.h"

namespace vkgraph::models {
namespace {

using synth::hash_name;
using synth::random_value;
using synth::splitmix64;

// The tensors of a model, described first (the scheme's mix needs all of them), written after.
class TensorMaker {
 public:
  TensorMaker(gguf::GgufWriter& writer, uint64_t seed) : writer_(writer), seed_(seed) {}

  // A matrix [rows, cols] of random values, converted to the type the scheme gives it.
  void matrix(const std::string& name, int64_t rows, int64_t cols, float stddev) {
    specs_.push_back({name, rows, cols, stddev, true});
  }
  // A norm weight or bias [n] in f32, around `center`.
  void vector(const std::string& name, int64_t n, float center, float stddev) {
    specs_.push_back({name, n, 0, stddev, false, center});
  }

  // An f32 vector of given values (RoPE frequency factors).
  void values(const std::string& name, std::vector<float> v) {
    specs_.push_back({name, int64_t(v.size()), 0, 0.0f, false, 0.0f, std::move(v)});
  }

  // Adds every tensor to the writer with the types `scheme` chooses.
  void add_all(const QuantScheme& scheme, MixModel mix) {
    std::vector<TensorDesc> descs;
    for (const Spec& s : specs_) {
      descs.push_back(
          {s.name, s.is_matrix ? std::vector<int64_t>{s.rows, s.cols} : std::vector<int64_t>{s.rows}, DType::F32});
      if (s.is_matrix && (s.name.find("attn_v.weight") != std::string::npos)) mix.n_attn_v++;
    }
    const std::vector<TensorChoice> choices = choose_tensor_types(scheme, mix, descs);
    for (size_t i = 0; i < specs_.size(); ++i) {
      const Spec& s = specs_[i];
      const uint64_t stream = splitmix64(seed_ ^ hash_name(s.name));
      if (!s.is_matrix) {
        writer_.add_tensor(s.name, DType::F32, {s.rows}, [=](std::span<std::byte> out) {
          auto* f = reinterpret_cast<float*>(out.data());
          for (int64_t e = 0; e < s.rows; ++e) {
            f[e] = s.given.empty() ? s.center + random_value(stream, uint64_t(e), s.stddev) : s.given[size_t(e)];
          }
        });
        continue;
      }
      const DType type = choices[i].type;  // f32 when the scheme keeps it (rows that fill no block)
      writer_.add_tensor(s.name, type, {s.rows, s.cols}, [=](std::span<std::byte> out) {
        std::vector<float> row(static_cast<size_t>(s.cols));
        const size_t row_size = row_bytes(type, size_t(s.cols));
        for (int64_t r = 0; r < s.rows; ++r) {
          for (int64_t c = 0; c < s.cols; ++c)
            row[size_t(c)] = random_value(stream, uint64_t(r * s.cols + c), s.stddev);
          quantize_row(type, row.data(), out.data() + size_t(r) * row_size, size_t(s.cols));
        }
      });
    }
  }

 private:
  struct Spec {
    std::string name;
    int64_t rows, cols;
    float stddev;
    bool is_matrix;
    float center = 0.0f;
    std::vector<float> given;  // fixed values instead of random ones
  };
  gguf::GgufWriter& writer_;
  uint64_t seed_;
  std::vector<Spec> specs_;
};

// The `tokenizer.*` keys of a GGUF file, copied as they are.
void copy_vocab(gguf::GgufWriter& w, const std::string& path, int64_t n_vocab) {
  const gguf::GgufFile file = gguf::GgufFile::open(path);
  const gguf::Value* tokens = file.find("tokenizer.ggml.tokens");
  VKGRAPH_CHECK(tokens != nullptr && std::holds_alternative<gguf::Array>(*tokens),
                "{}: no tokenizer.ggml.tokens array to take the vocabulary from", path);
  const size_t count = std::get<gguf::Array>(*tokens).size();
  VKGRAPH_CHECK(int64_t(count) == n_vocab, "{} has {} tokens but the preset's vocabulary has {}", path, count, n_vocab);
  for (const gguf::MetadataEntry& e : file.metadata()) {
    if (e.key.rfind("tokenizer.", 0) == 0) w.set(e.key, e.value);
  }
}

// Llama 3.1's RoPE frequency factors, as its converter derives them: wavelengths shorter than
// original_context / high_freq_factor keep their frequency, longer than original_context /
// low_freq_factor are slowed by `factor`, and those between blend smoothly.
std::vector<float> llama3_rope_factors(const Preset& p) {
  constexpr double low = 1.0, high = 4.0, original_context = 8192.0, pi = 3.14159265358979323846;
  const double factor = p.llama3_rope_factor;
  std::vector<float> factors(size_t(p.head_dim / 2));
  for (size_t i = 0; i < factors.size(); ++i) {
    const double freq = std::pow(double(p.rope_base), -2.0 * double(i) / double(p.head_dim));
    const double wavelength = 2.0 * pi / freq;
    if (wavelength < original_context / high) {
      factors[i] = 1.0f;
    } else if (wavelength > original_context / low) {
      factors[i] = float(factor);
    } else {
      const double smooth = (original_context / wavelength - low) / (high - low);
      factors[i] = float(1.0 / ((1.0 - smooth) / factor + smooth));
    }
  }
  return factors;
}

// LongRoPE factor sets of the shape Phi-3.5's converter writes (synthetic values): the long set
// rises from 1 for the fastest pair to n_ctx / original for the slowest, the short set stays
// near 1.
std::pair<std::vector<float>, std::vector<float>> longrope_factors(const Preset& p) {
  const size_t pairs = size_t(p.head_dim / 2);
  const double scale = double(p.n_ctx) / double(p.longrope_original_context);
  std::vector<float> long_set(pairs), short_set(pairs);
  for (size_t i = 0; i < pairs; ++i) {
    const double x = double(i) / double(pairs - 1);
    long_set[i] = float(1.0 + (scale - 1.0) * x * x);
    short_set[i] = float(1.0 + 0.05 * x);
  }
  return {long_set, short_set};
}

}  // namespace

void write_synthetic_model(const Preset& p, const SynthOptions& o, const std::string& path) {
  const int64_t n_layer = o.n_layer > 0 ? o.n_layer : p.n_layer;
  VKGRAPH_CHECK(o.tokenizer_json.empty() || o.vocab_from.empty(),
                "a synthetic model takes its vocabulary from a tokenizer.json or a GGUF file, not both");
  gguf::GgufWriter w;
  const std::string a = p.arch + ".";
  w.set_string("general.architecture", p.arch);
  const QuantScheme& scheme = find_quant_scheme(o.weights, "synth weights");
  w.set_string("general.name", fmt::format("{} (synthetic, {})", p.name, scheme.name));
  w.set_u32("general.file_type", scheme.file_type);
  w.set_u32(a + "context_length", uint32_t(p.n_ctx));
  w.set_u32(a + "embedding_length", uint32_t(p.n_embd));
  w.set_u32(a + "block_count", uint32_t(n_layer));
  w.set_u32(a + "feed_forward_length", uint32_t(p.n_ff));
  w.set_u32(a + "attention.head_count", uint32_t(p.n_head));
  w.set_u32(a + "attention.head_count_kv", uint32_t(p.n_head_kv));
  if (p.head_dim * p.n_head != p.n_embd) {
    w.set_u32(a + "attention.key_length", uint32_t(p.head_dim));
    w.set_u32(a + "attention.value_length", uint32_t(p.head_dim));
  }
  w.set_u32(a + "rope.dimension_count", uint32_t(p.head_dim));
  w.set_f32(a + "rope.freq_base", p.rope_base);
  w.set_f32(a + "attention.layer_norm_rms_epsilon", p.rms_eps);
  if (p.sliding_window > 0) w.set_u32(a + "attention.sliding_window", uint32_t(p.sliding_window));
  const bool gemma = p.arch == "gemma2" || p.arch == "gemma3";
  if (p.arch == "gemma2") {  // the caps of every Gemma 2 release
    w.set_f32(a + "attn_logit_softcapping", 50.0f);
    w.set_f32(a + "final_logit_softcapping", 30.0f);
  }
  if (p.arch == "gemma3") w.set_f32(a + "rope.freq_base_swa", 10000.0f);
  if (p.longrope_original_context > 0) {
    // llama.cpp's converter: attn_factor = sqrt(1 + ln(scale) / ln(original context)).
    const double scale = double(p.n_ctx) / double(p.longrope_original_context);
    w.set_u32(a + "rope.scaling.original_context_length", uint32_t(p.longrope_original_context));
    w.set_f32(a + "rope.scaling.attn_factor",
              float(std::sqrt(1.0 + std::log(scale) / std::log(double(p.longrope_original_context)))));
  }
  if (!o.vocab_from.empty()) {
    copy_vocab(w, o.vocab_from, p.n_vocab);
  } else {
    write_vocab(w, o.tokenizer_json.empty() ? placeholder_vocab(p.n_vocab)
                                            : vocab_from_tokenizer_json(o.tokenizer_json, p.n_vocab));
  }

  const int64_t e = p.n_embd, q = p.n_head * p.head_dim, kv = p.n_head_kv * p.head_dim;
  // Standard deviations keep activations of order one through the layers, so the logits are
  // finite and varied: 1/sqrt(fan_in) for projections.
  const auto sd = [](int64_t fan_in) { return 1.0f / std::sqrt(float(fan_in)); };
  TensorMaker make(w, o.seed);
  make.matrix("token_embd.weight", p.n_vocab, e, 1.0f);
  if (p.llama3_rope_factor > 0.0f) make.values("rope_freqs.weight", llama3_rope_factors(p));
  if (p.longrope_original_context > 0) {
    const auto [long_set, short_set] = longrope_factors(p);
    make.values("rope_factors_long.weight", long_set);
    make.values("rope_factors_short.weight", short_set);
  }
  for (int64_t il = 0; il < n_layer; ++il) {
    const auto n = [il](const char* s) { return fmt::format("blk.{}.{}", il, s); };
    make.vector(n("attn_norm.weight"), e, 1.0f, 0.1f);
    if (p.arch == "phi3") {  // q, k and v fused, as Phi-3's files hold them
      make.matrix(n("attn_qkv.weight"), q + 2 * kv, e, sd(e));
    } else {
      make.matrix(n("attn_q.weight"), q, e, sd(e));
      make.matrix(n("attn_k.weight"), kv, e, sd(e));
      make.matrix(n("attn_v.weight"), kv, e, sd(e));
    }
    if (p.arch == "qwen2") {
      make.vector(n("attn_q.bias"), q, 0.0f, 0.1f);
      make.vector(n("attn_k.bias"), kv, 0.0f, 0.1f);
      make.vector(n("attn_v.bias"), kv, 0.0f, 0.1f);
    }
    if (p.arch == "qwen3" || p.arch == "gemma3") {
      make.vector(n("attn_q_norm.weight"), p.head_dim, 1.0f, 0.1f);
      make.vector(n("attn_k_norm.weight"), p.head_dim, 1.0f, 0.1f);
    }
    make.matrix(n("attn_output.weight"), e, q, sd(q));
    if (gemma) make.vector(n("post_attention_norm.weight"), e, 1.0f, 0.1f);
    make.vector(n("ffn_norm.weight"), e, 1.0f, 0.1f);
    if (gemma) make.vector(n("post_ffw_norm.weight"), e, 1.0f, 0.1f);
    if (p.arch == "phi3") {  // gate and up fused
      make.matrix(n("ffn_up.weight"), 2 * p.n_ff, e, sd(e));
    } else {
      make.matrix(n("ffn_gate.weight"), p.n_ff, e, sd(e));
      make.matrix(n("ffn_up.weight"), p.n_ff, e, sd(e));
    }
    make.matrix(n("ffn_down.weight"), e, p.n_ff, sd(p.n_ff));
  }
  make.vector("output_norm.weight", e, 1.0f, 0.1f);
  if (!p.tied_output) make.matrix("output.weight", p.n_vocab, e, sd(e));
  MixModel mix;
  mix.arch = p.arch;
  mix.n_layer = n_layer;
  mix.n_head = p.n_head;
  mix.n_head_kv = p.n_head_kv;
  mix.tied_output = p.tied_output;
  make.add_all(scheme, mix);
  w.write(path);
}

}  // namespace vkgraph::models
