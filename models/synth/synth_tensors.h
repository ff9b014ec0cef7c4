#pragma once
// Deterministic random tensors for synthetic GGUF files (models and LoRA adapters): a value per
// element from the tensor's name and the seed, so any reader can recompute them.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/core/error.h"
#include "engine/core/quant.h"
#include "models/gguf/gguf_writer.h"

namespace vkgraph::models::synth {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline uint64_t hash_name(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Deterministic values for element i of a tensor: independent of how the tensor is split into
// rows, so any reader can recompute them. The sum of four uniforms is close enough to a normal
// for weights whose values do not matter, and much cheaper.
inline float random_value(uint64_t stream, uint64_t i, float stddev) {
  const uint64_t r = splitmix64(stream ^ splitmix64(i));
  float sum = 0;
  for (int k = 0; k < 4; ++k) sum += float((r >> (16 * k)) & 0xffff) / 65535.0f;
  // Irwin-Hall(4) has mean 2 and variance 4/12.
  return (sum - 2.0f) * stddev * 1.7320508f;
}

class TensorMaker {
 public:
  TensorMaker(gguf::GgufWriter& writer, uint64_t seed) : writer_(writer), seed_(seed) {}

  // A matrix [rows, cols] of random values in `type` (cols must fill whole blocks).
  void matrix(const std::string& name, DType type, int64_t rows, int64_t cols, float stddev) {
    VKGRAPH_CHECK(cols % int64_t(dtype_info(type).block_elements) == 0, "tensor '{}': rows of {} do not fill {} blocks",
                  name, cols, dtype_name(type));
    const uint64_t stream = splitmix64(seed_ ^ hash_name(name));
    writer_.add_tensor(name, type, {rows, cols}, [=](std::span<std::byte> out) {
      std::vector<float> row(static_cast<size_t>(cols));
      const size_t row_size = row_bytes(type, size_t(cols));
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) row[size_t(c)] = random_value(stream, uint64_t(r * cols + c), stddev);
        quantize_row(type, row.data(), out.data() + size_t(r) * row_size, size_t(cols));
      }
    });
  }
  // A norm weight or bias [n] in f32, around `center`.
  void vector(const std::string& name, int64_t n, float center, float stddev) {
    const uint64_t stream = splitmix64(seed_ ^ hash_name(name));
    writer_.add_tensor(name, DType::F32, {n}, [=](std::span<std::byte> out) {
      auto* f = reinterpret_cast<float*>(out.data());
      for (int64_t i = 0; i < n; ++i) f[i] = center + random_value(stream, uint64_t(i), stddev);
    });
  }

 private:
  gguf::GgufWriter& writer_;
  uint64_t seed_;
};

}  // namespace vkgraph::models::synth
