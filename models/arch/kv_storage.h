#pragma once
// The KV cache's device storage: per layer, K and V of n_slots slots, [n_slots, n_head_kv,
// head_dim] each. Sessions own one; benchmarks and tests allocate their own to build steps.

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/core/dtype.h"
#include "models/arch/hparams.h"

namespace vkgraph::models {

struct KvStorage {
  DType dtype = DType::F16;
  int64_t n_slots = 0;
  std::vector<std::shared_ptr<Storage>> k, v;  // per layer: [n_slots, n_head_kv, head_dim]
};

// K and V for every layer of `hp`, `n_slots` slots of `dtype`, allocated as backend state.
inline KvStorage allocate_kv(const Hparams& hp, Backend& backend, int64_t n_slots, DType dtype = DType::F16) {
  KvStorage kv;
  kv.dtype = dtype;
  kv.n_slots = n_slots;
  const size_t layer_bytes = row_bytes(dtype, size_t(hp.n_head_kv * hp.head_dim)) * size_t(n_slots);
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    kv.k.push_back(backend.allocate_state(layer_bytes));
    kv.v.push_back(backend.allocate_state(layer_bytes));
  }
  return kv;
}

}  // namespace vkgraph::models
