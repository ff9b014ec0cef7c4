#pragma once
// Helpers of the quantization tests: a model's logits at every position of a reference prompt,
// and an F32 copy of a GGUF (every tensor dequantized) to requantize.

#include <string>
#include <vector>

#include "engine/core/quant.h"
#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_writer.h"
#include "models/model.h"
#include "models/session.h"

namespace vkgraph::testing {

// logits[i]: the vocabulary vector after position i of `tokens`.
inline std::vector<std::vector<float>> logits_per_position(const models::Model& model, Backend& backend,
                                                           const std::vector<int32_t>& tokens) {
  models::Session session(model, backend);
  const std::vector<float> flat = session.eval(tokens, true);
  const auto n_vocab = size_t(model.hparams().n_vocab);
  std::vector<std::vector<float>> rows(tokens.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].assign(flat.begin() + std::ptrdiff_t(i * n_vocab), flat.begin() + std::ptrdiff_t((i + 1) * n_vocab));
  }
  return rows;
}

// Writes `out`: `in` with every tensor widened to F32 (metadata copied, general.file_type 0).
inline void write_f32_copy(const std::string& in, const std::string& out) {
  const gguf::GgufFile file = gguf::GgufFile::open(in);
  gguf::GgufWriter writer(file.alignment());
  for (const gguf::MetadataEntry& e : file.metadata()) writer.set(e.key, e.value);
  writer.set_u32("general.file_type", 0);
  for (const gguf::TensorInfo& t : file.tensors()) {
    const size_t cols = size_t(t.shape.back()), rows = size_t(t.elements) / cols;
    const size_t in_row = row_bytes(t.type, cols);
    std::vector<std::byte> data(size_t(t.elements) * sizeof(float));
    for (size_t r = 0; r < rows; ++r) {
      dequantize_row(t.type, file.data(t).data() + r * in_row, reinterpret_cast<float*>(data.data()) + r * cols, cols);
    }
    writer.add_tensor(t.name, DType::F32, t.shape, std::move(data));
  }
  writer.write(out);
}

}  // namespace vkgraph::testing
