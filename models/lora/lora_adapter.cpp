#include "models/lora/lora_adapter.h"

#include <fmt/format.h>

#include <cstring>
#include <utility>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/core/quant.h"
#include "models/lora/lora_file.h"

namespace vkgraph::models {
namespace {

// A BF16 adapter tensor (PEFT trains in bf16; convert_lora_to_gguf.py --outtype bf16) in a type
// every backend multiplies, without changing a value: f16 when every value is exactly an f16
// (f16 has more mantissa bits; only magnitudes outside its range lose anything), which keeps B
// fusable into the decode mat-vecs; f32 otherwise.
std::pair<DType, std::vector<std::byte>> from_bf16(const gguf::TensorInfo& t, std::span<const std::byte> data) {
  const auto n = size_t(t.elements);
  std::vector<float> values(n);
  dequantize_row(DType::BF16, data.data(), values.data(), n);
  std::vector<std::byte> half(n * 2);
  quantize_row(DType::F16, values.data(), half.data(), n);
  std::vector<float> back(n);
  dequantize_row(DType::F16, half.data(), back.data(), n);
  if (std::memcmp(back.data(), values.data(), n * sizeof(float)) == 0) return {DType::F16, std::move(half)};
  std::vector<std::byte> full(n * sizeof(float));
  std::memcpy(full.data(), values.data(), full.size());
  return {DType::F32, std::move(full)};
}

}  // namespace

std::shared_ptr<const LoraAdapter> LoraAdapter::load(const std::string& path, const Model& model, Backend& backend) {
  const LoraFile file = LoraFile::open(path);
  file.check_against(model.hparams(), model.weights());
  for (const std::string& name : file.ignored()) {
    log::warn("{}: '{}' is ignored (adapters apply to matrices only, as in llama.cpp)", path, name);
  }

  std::vector<WeightSize> sizes;
  for (const LoraTensorPair& p : file.pairs()) {
    for (const gguf::TensorInfo* t : {&p.a, &p.b}) {
      // A BF16 tensor may become f32 (from_bf16): twice its bytes at most.
      sizes.push_back({t->name, size_t(t->bytes) * (t->type == DType::BF16 ? 2 : 1)});
    }
  }
  backend.check_weights_fit(sizes);

  std::shared_ptr<LoraAdapter> adapter(new LoraAdapter());
  adapter->path_ = path;
  adapter->model_ = &model;
  adapter->alpha_ = file.alpha();
  for (const LoraTensorPair& p : file.pairs()) {
    const auto upload = [&](const gguf::TensorInfo& t) {
      if (t.type == DType::BF16) {
        const auto [type, bytes] = from_bf16(t, file.file().data(t));
        adapter->bytes_ += bytes.size();
        return WeightTensor{t.name, type, t.shape, backend.upload(bytes)};
      }
      adapter->bytes_ += size_t(t.bytes);
      return WeightTensor{t.name, t.type, t.shape, backend.upload(file.file().data(t))};
    };
    adapter->pairs_.emplace(p.base, LoraPair{upload(p.a), upload(p.b)});
  }
  log::info("{}: LoRA adapter, {} matrices, rank {}, alpha {}, {:.2f} MiB", path, adapter->pairs_.size(),
            file.pairs().front().rank(), file.alpha() ? fmt::format("{}", *file.alpha()) : std::string("= rank"),
            double(adapter->bytes_) / (1 << 20));
  return adapter;
}

std::shared_ptr<const LoraAdapter> LoraAdapter::from_pairs(std::string label, const Model* model,
                                                           std::optional<float> alpha,
                                                           std::map<std::string, LoraPair> pairs) {
  std::shared_ptr<LoraAdapter> adapter(new LoraAdapter());
  adapter->path_ = std::move(label);
  adapter->model_ = model;
  adapter->alpha_ = alpha;
  for (const auto& [name, pair] : pairs) {
    VKGRAPH_CHECK(pair.a.shape.size() == 2 && pair.b.shape.size() == 2 && pair.a.shape[0] == pair.b.shape[1],
                  "{}: the pair of '{}' is {} and {}, expected [r, n_in] and [n_out, r]", adapter->path_, name,
                  shape_string(pair.a.shape), shape_string(pair.b.shape));
    adapter->bytes_ += pair.a.storage ? pair.a.storage->bytes() : 0;
    adapter->bytes_ += pair.b.storage ? pair.b.storage->bytes() : 0;
  }
  adapter->pairs_ = std::move(pairs);
  return adapter;
}

const LoraPair* LoraAdapter::find(const std::string& base) const {
  const auto it = pairs_.find(base);
  return it == pairs_.end() ? nullptr : &it->second;
}

}  // namespace vkgraph::models
