#include "models/lora/lora_merge.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "engine/core/error.h"
#include "engine/core/quant.h"

namespace vkgraph::models {
namespace {

// A tensor's rows as f32 [rows * cols].
std::vector<float> to_f32(const gguf::TensorInfo& t, std::span<const std::byte> data) {
  const auto rows = size_t(t.shape[0]), cols = size_t(t.shape[1]);
  const size_t stride = row_bytes(t.type, cols);
  std::vector<float> out(rows * cols);
  for (size_t r = 0; r < rows; ++r) dequantize_row(t.type, data.data() + r * stride, out.data() + r * cols, cols);
  return out;
}

// Runs fn(first, end) over [0, rows) on the machine's cores (merging is rows x r x n_in
// multiply-adds per matrix: a second or so for a 1B model on one core).
template <typename Fn>
void parallel_rows(size_t rows, Fn&& fn) {
  const size_t n = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, std::max<size_t>(rows / 64, 1));
  const size_t per = (rows + n - 1) / n;
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) threads.emplace_back([&, t] { fn(t * per, std::min(rows, (t + 1) * per)); });
  fn(0, std::min(rows, per));
  for (std::thread& th : threads) th.join();
}

}  // namespace

LoraMerger::LoraMerger(std::span<const LoraMergeRequest> requests, const Hparams& hp, const ModelWeights& weights) {
  for (const LoraMergeRequest& r : requests) {
    VKGRAPH_CHECK(std::isfinite(r.scale), "{}: the merge scale {} is not a finite number", r.path, r.scale);
    LoraFile file = LoraFile::open(r.path);
    file.check_against(hp, weights);
    adapters_.push_back({std::move(file), r.scale});
  }
}

bool LoraMerger::adapts(const std::string& tensor) const {
  for (const Adapter& a : adapters_) {
    for (const LoraTensorPair& p : a.file.pairs()) {
      if (p.base == tensor) return true;
    }
  }
  return false;
}

std::vector<float> LoraMerger::merged(const gguf::TensorInfo& tensor, std::span<const std::byte> data) const {
  std::vector<float> w = to_f32(tensor, data);
  const auto n_out = size_t(tensor.shape[0]), n_in = size_t(tensor.shape[1]);
  for (const Adapter& adapter : adapters_) {
    for (const LoraTensorPair& p : adapter.file.pairs()) {
      if (p.base != tensor.name) continue;
      const auto r = size_t(p.rank());
      const std::vector<float> a = to_f32(p.a, adapter.file.file().data(p.a));  // [r, n_in]
      const std::vector<float> b = to_f32(p.b, adapter.file.file().data(p.b));  // [n_out, r]
      const float factor = lora_factor(adapter.scale, adapter.file.alpha(), p.rank());
      // W[o][i] += factor * (sum_j B[o][j] A[j][i]): the product first, scaled after, as the
      // unmerged graph (and llama.cpp's) scales B (A x).
      parallel_rows(n_out, [&](size_t first, size_t end) {
        std::vector<float> delta(n_in);
        for (size_t o = first; o < end; ++o) {
          std::fill(delta.begin(), delta.end(), 0.0f);
          for (size_t j = 0; j < r; ++j) {
            const float c = b[o * r + j];
            const float* a_row = a.data() + j * n_in;
            for (size_t i = 0; i < n_in; ++i) delta[i] += c * a_row[i];
          }
          float* row = w.data() + o * n_in;
          for (size_t i = 0; i < n_in; ++i) row[i] += factor * delta[i];
        }
      });
    }
  }
  return w;
}

std::vector<std::byte> pack_rows(DType type, std::span<const float> values, int64_t rows, int64_t cols) {
  VKGRAPH_CHECK(values.size() == size_t(rows * cols), "pack_rows: {} values for {} x {}", values.size(), rows, cols);
  const size_t stride = row_bytes(type, size_t(cols));
  std::vector<std::byte> out(size_t(rows) * stride);
  parallel_rows(size_t(rows), [&](size_t first, size_t end) {
    for (size_t r = first; r < end; ++r) {
      quantize_row(type, values.data() + r * size_t(cols), out.data() + r * stride, size_t(cols));
    }
  });
  return out;
}

}  // namespace vkgraph::models
