#include "models/arch/projection.h"

#include "models/lora/lora_file.h"

namespace vkgraph::models {

TensorId weight_leaf(Graph& g, const WeightTensor& w) { return g.weight(w.name, w.dtype, w.shape, w.storage); }

TensorId project(Graph& g, const WeightTensor& w, TensorId x, std::span<const AdapterUse> adapters) {
  TensorId y = g.matmul(weight_leaf(g, w), x);
  for (const AdapterUse& use : adapters) {
    if (use.scale == 0.0f) continue;
    const LoraPair* pair = use.adapter->find(w.name);
    if (pair == nullptr) continue;
    const TensorId t = g.matmul(weight_leaf(g, pair->a), x);  // [..., r]
    TensorId d = g.matmul(weight_leaf(g, pair->b), t);        // [..., n_out]
    const float factor = lora_factor(use.scale, use.adapter->alpha(), pair->rank());
    if (factor != 1.0f) d = g.scale(d, factor);
    y = g.add(y, d);
  }
  return y;
}

}  // namespace vkgraph::models
