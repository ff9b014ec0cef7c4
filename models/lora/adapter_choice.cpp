#include "models/lora/adapter_choice.h"

#include <cmath>

#include "engine/core/error.h"

namespace vkgraph::models {

std::vector<AdapterUse> choose_adapters(std::span<const AdapterUse> loaded, std::span<const AdapterRequest> request) {
  std::vector<AdapterUse> chosen(loaded.begin(), loaded.end());
  for (AdapterUse& use : chosen) use.scale = 0.0f;
  for (size_t i = 0; i < request.size(); ++i) {
    const AdapterRequest& r = request[i];
    VKGRAPH_CHECK(r.id >= 0 && r.id < int64_t(loaded.size()),
                  "lora entry {}: id {} is not a loaded adapter ({} are loaded: ids 0 to {})", i, r.id, loaded.size(),
                  int64_t(loaded.size()) - 1);
    VKGRAPH_CHECK(std::isfinite(r.scale), "lora entry {}: the scale of adapter {} is not a finite number", i, r.id);
    chosen[size_t(r.id)].scale = r.scale;
  }
  return chosen;
}

}  // namespace vkgraph::models
