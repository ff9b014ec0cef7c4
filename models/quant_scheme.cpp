#include "models/quant_scheme.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "engine/core/error.h"

namespace vkgraph::models {
namespace {

constexpr QuantScheme schemes[] = {
    {"q8_0", 7, DType::Q8_0, MixRule::pure},       {"q4_0", 2, DType::Q4_0, MixRule::pure},
    {"q4_1", 3, DType::Q4_1, MixRule::llama},      {"q5_0", 8, DType::Q5_0, MixRule::llama},
    {"q5_1", 9, DType::Q5_1, MixRule::llama},      {"iq4_nl", 25, DType::IQ4_NL, MixRule::llama},
    {"iq4_xs", 30, DType::IQ4_XS, MixRule::llama}, {"q2_k", 10, DType::Q2_K, MixRule::llama},
    {"q3_k_m", 12, DType::Q3_K, MixRule::llama},   {"q4_k_s", 14, DType::Q4_K, MixRule::llama},
    {"q4_k_m", 15, DType::Q4_K, MixRule::llama},   {"q5_k_m", 17, DType::Q5_K, MixRule::llama},
    {"q6_k", 18, DType::Q6_K, MixRule::llama},     {"bf16", 32, DType::BF16, MixRule::plain},
    {"f16", 1, DType::F16, MixRule::plain},        {"f32", 0, DType::F32, MixRule::plain},
};

// llama.cpp's tensor categories, by name.
enum class Category { token_embd, output, attn_v, attn_k, attn_q, attn_output, ffn_down, ffn_gate, ffn_up, other };

Category category_of(const std::string& name) {
  if (name == "output.weight") return Category::output;
  if (name == "token_embd.weight") return Category::token_embd;
  // A fused q/k/v matrix counts as attn_v, the part most sensitive to quantization.
  if (name.find("attn_qkv.weight") != std::string::npos || name.find("attn_v.weight") != std::string::npos) {
    return Category::attn_v;
  }
  if (name.find("attn_k.weight") != std::string::npos) return Category::attn_k;
  if (name.find("attn_q.weight") != std::string::npos) return Category::attn_q;
  if (name.find("attn_output.weight") != std::string::npos) return Category::attn_output;
  if (name.find("ffn_down") != std::string::npos) return Category::ffn_down;
  if (name.find("ffn_gate") != std::string::npos) return Category::ffn_gate;
  if (name.find("ffn_up") != std::string::npos) return Category::ffn_up;
  return Category::other;
}

// "blk.N." -> N, or -1.
int layer_of(const std::string& name) {
  int layer = -1;
  return std::sscanf(name.c_str(), "blk.%d.", &layer) == 1 ? layer : -1;
}

// The layers that get more bits in the _M mixes: the first and last eighth and every third one
// between them.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// llama.cpp's substitute when a matrix's rows do not fill the type's blocks: a 32-element type
// of about as many bits (F16 when even that does not fit).
DType fallback_for(DType type) {
  switch (type) {
    case DType::Q2_K:
    case DType::Q3_K:
      return DType::Q4_0;
    case DType::Q4_K:
      return DType::Q5_0;
    case DType::Q5_K:
      return DType::Q5_1;
    case DType::Q6_K:
      return DType::Q8_0;
    case DType::IQ4_XS:
      return DType::IQ4_NL;
    default:
      return type;
  }
}

bool fits(DType type, int64_t cols) { return cols % int64_t(dtype_info(type).block_elements) == 0; }

struct Mixed {
  DType type;
  std::string why;  // empty: the base type
};

// The type llama.cpp's mix gives a matrix under scheme s, before the fallback for its rows.
Mixed llama_mix(const QuantScheme& s, const MixModel& m, const TensorDesc& t, int attn_v_index) {
  const Category cat = category_of(t.name);
  const int64_t cols = t.shape.back();
  const int64_t gqa = m.n_head_kv > 0 ? m.n_head / m.n_head_kv : 1;
  const std::string_view f = s.name;
  if (cat == Category::output || (m.tied_output && cat == Category::token_embd)) {
    const char* what = cat == Category::output ? "the output matrix" : "the embedding, tied to the output";
    if (!fits(s.base, cols)) return {DType::Q8_0, fmt::format("{} with rows of {}: q8_0", what, cols)};
    if (s.base != DType::Q8_0) return {DType::Q6_K, fmt::format("{}: q6_k", what)};
    return {s.base, ""};
  }
  const int layer = layer_of(t.name);
  if (cat == Category::attn_v) {
    const int64_t i = attn_v_index, n = m.n_attn_v;
    DType type = s.base;
    if (f == "q2_k") {
      type = gqa >= 4 ? DType::Q4_K : DType::Q3_K;
    } else if (f == "q3_k_m") {
      type = i < 2 ? DType::Q5_K : DType::Q4_K;
    } else if ((f == "iq4_nl" || f == "iq4_xs") && gqa >= 4) {
      type = DType::Q5_K;
    } else if ((f == "q4_k_m" || f == "q5_k_m") && use_more_bits(i, n)) {
      type = DType::Q6_K;
    } else if (f == "q4_k_s" && i < 4) {
      type = DType::Q5_K;
    }
    // A 70B llama shares each attn_v among 8 heads: it is 8x smaller than attn_q, and more bits
    // cost little there.
    if (m.arch == "llama" && m.n_layer == 80 && m.n_head != m.n_head_kv &&
        (type == DType::Q3_K || type == DType::Q4_K)) {
      type = DType::Q5_K;
    }
    return {type, type == s.base ? "" : fmt::format("attn_v {} of {}: {}", i, n, dtype_name(type))};
  }
  if (cat == Category::ffn_down) {
    const int64_t i = layer, n = m.n_layer;
    DType type = s.base;
    if (f == "q2_k") {
      type = DType::Q3_K;
    } else if (f == "q3_k_m") {
      type = i < n / 16 ? DType::Q5_K : DType::Q4_K;
    } else if (f == "q4_k_m" || f == "q5_k_m") {
      if (use_more_bits(i, n)) type = DType::Q6_K;
    } else if ((f == "iq4_nl" || f == "iq4_xs") && i < n / 8) {
      type = DType::Q5_K;
    } else if (f == "q4_k_s" && i < n / 8) {
      type = DType::Q5_K;
    }
    return {type, type == s.base ? "" : fmt::format("ffn_down of layer {} of {}: {}", i, n, dtype_name(type))};
  }
  if (cat == Category::attn_output) {
    if (f == "q2_k") return {DType::Q3_K, "attn_output: q3_k"};
    if (f == "q3_k_m") return {DType::Q4_K, "attn_output: q4_k"};
  }
  return {s.base, ""};
}

}  // namespace

std::span<const QuantScheme> quant_schemes() { return schemes; }

std::string quant_scheme_names() {
  std::string names;
  for (const QuantScheme& s : schemes) names += (names.empty() ? "" : ", ") + std::string(s.name);
  return names;
}

const QuantScheme& find_quant_scheme(std::string_view name, std::string_view option) {
  for (const QuantScheme& s : schemes) {
    if (s.name == name) return s;
  }
  fail("{} must be one of {} (got '{}')", option, quant_scheme_names(), name);
}

std::vector<TensorChoice> choose_tensor_types(const QuantScheme& scheme, const MixModel& model,
                                              std::span<const TensorDesc> tensors) {
  // llama.cpp counts attn_v matrices in layer order (then by name): their index in that order.
  std::vector<size_t> attn_v;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].shape.size() == 2 && category_of(tensors[i].name) == Category::attn_v) attn_v.push_back(i);
  }
  std::stable_sort(attn_v.begin(), attn_v.end(), [&](size_t a, size_t b) {
    const int la = layer_of(tensors[a].name), lb = layer_of(tensors[b].name);
    return la != lb ? la < lb : tensors[a].name < tensors[b].name;
  });

  std::vector<TensorChoice> choices;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorDesc& t = tensors[i];
    TensorChoice c{t.type, false, ""};
    if (t.shape.size() != 2) {
      c.reason = fmt::format("rank {} ({}): norms and biases stay in f32", t.shape.size(), dtype_name(t.type));
      choices.push_back(c);
      continue;
    }
    if (t.type != DType::F32 && t.type != DType::F16 && t.type != DType::BF16) {
      c.reason = t.type == scheme.base ? fmt::format("already {}", dtype_name(t.type))
                                       : fmt::format("already quantized ({}); requantizing would add a second rounding",
                                                     dtype_name(t.type));
      choices.push_back(c);
      continue;
    }
    const int64_t cols = t.shape[1];
    DType target = scheme.base;
    std::string why;
    if (scheme.rule == MixRule::llama) {
      const auto v = std::find(attn_v.begin(), attn_v.end(), i);
      const Mixed mixed = llama_mix(scheme, model, t, int(v - attn_v.begin()));
      target = mixed.type;
      why = mixed.why;
      if (!fits(target, cols)) {
        const DType fallback = fits(fallback_for(target), cols) ? fallback_for(target) : DType::F16;
        why = fmt::format("rows of {} are not a multiple of the {}-element {} block: {}", cols,
                          dtype_info(target).block_elements, dtype_name(target), dtype_name(fallback));
        target = fallback;
      }
    } else if (!fits(target, cols)) {
      c.reason = fmt::format("rows of {} are not a multiple of the {}-element {} block", cols,
                             dtype_info(target).block_elements, dtype_name(target));
      choices.push_back(c);
      continue;
    }
    if (target == t.type) {
      c.reason = why.empty() ? fmt::format("already {}", dtype_name(target)) : why;
      choices.push_back(c);
      continue;
    }
    choices.push_back({target, true, why});
  }
  return choices;
}

}  // namespace vkgraph::models
