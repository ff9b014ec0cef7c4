#pragma once
// Shared by the LoRA tests: adapter files written on the fly (llama.cpp's GGUF adapter format,
// models/lora/lora_file.h) and every prompt position's logits of a session.

#include <optional>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/core/quant.h"
#include "models/gguf/gguf_writer.h"
#include "models/session.h"

namespace vkgraph::testing {

struct AdapterTensor {
  std::string name;  // "blk.0.attn_q.weight.lora_a"
  std::vector<int64_t> shape;
  DType type = DType::F32;
  float value = 0.01f;  // every element (exact in f16)
};

// An adapter file: general.type / adapter.type / architecture as given ("" leaves a key out).
inline void write_adapter(const std::string& path, const std::vector<AdapterTensor>& tensors,
                          const std::string& arch = "llama", std::optional<float> alpha = 8.0f,
                          const std::string& general_type = "adapter", const std::string& adapter_type = "lora") {
  gguf::GgufWriter w;
  if (!arch.empty()) w.set_string("general.architecture", arch);
  if (!general_type.empty()) w.set_string("general.type", general_type);
  if (!adapter_type.empty()) w.set_string("adapter.type", adapter_type);
  if (alpha) w.set_f32("adapter.lora.alpha", *alpha);
  for (const AdapterTensor& t : tensors) {
    const int64_t rows = t.shape.size() == 2 ? t.shape[0] : 1;
    const int64_t cols = t.shape.back();
    const std::vector<float> row(size_t(cols), t.value);
    std::vector<std::byte> bytes(size_t(rows) * row_bytes(t.type, size_t(cols)));
    for (int64_t r = 0; r < rows; ++r) {
      quantize_row(t.type, row.data(), bytes.data() + size_t(r) * row_bytes(t.type, size_t(cols)), size_t(cols));
    }
    w.add_tensor(t.name, t.type, t.shape, std::move(bytes));
  }
  w.write(path);
}

// Every position's logits of `tokens`, evaluated in one batch (prefill) or one token at a time
// (decode: the one-token steps, where Vulkan fuses an adapter into the mat-vecs).
inline std::vector<std::vector<float>> position_logits(models::Session& session, const std::vector<int32_t>& tokens,
                                                       bool one_at_a_time) {
  const auto n_vocab = size_t(session.model().hparams().n_vocab);
  std::vector<std::vector<float>> rows;
  if (one_at_a_time) {
    for (int32_t t : tokens) rows.push_back(session.eval(std::vector<int32_t>{t}));
    return rows;
  }
  const std::vector<float> flat = session.eval(tokens, true);
  for (size_t i = 0; i < tokens.size(); ++i) {
    rows.emplace_back(flat.begin() + std::ptrdiff_t(i * n_vocab), flat.begin() + std::ptrdiff_t((i + 1) * n_vocab));
  }
  return rows;
}

}  // namespace vkgraph::testing
