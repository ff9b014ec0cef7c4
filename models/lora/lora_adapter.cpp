#include "models/lora/lora_adapter.h"

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/core/log.h"
#include "models/lora/lora_file.h"

namespace vkgraph::models {

std::shared_ptr<const LoraAdapter> LoraAdapter::load(const std::string& path, const Model& model, Backend& backend) {
  const LoraFile file = LoraFile::open(path);
  file.check_against(model.hparams(), model.weights());
  for (const std::string& name : file.ignored()) {
    log::warn("{}: '{}' is ignored (adapters apply to matrices only, as in llama.cpp)", path, name);
  }

  std::vector<WeightSize> sizes;
  for (const LoraTensorPair& p : file.pairs()) {
    sizes.push_back({p.a.name, size_t(p.a.bytes)});
    sizes.push_back({p.b.name, size_t(p.b.bytes)});
  }
  backend.check_weights_fit(sizes);

  std::shared_ptr<LoraAdapter> adapter(new LoraAdapter());
  adapter->path_ = path;
  adapter->model_ = &model;
  adapter->alpha_ = file.alpha();
  for (const LoraTensorPair& p : file.pairs()) {
    const auto upload = [&](const gguf::TensorInfo& t) {
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
