#pragma once
// Which of a server's loaded adapters a request applies, as llama-server's `lora` field says it:
// the adapters given at start-up (`--lora`, in order) have ids 0, 1, ...; a request lists
// {id, scale} pairs, and every loaded adapter it does not list gets scale 0 (left out of the
// step). A request without the field keeps the start-up scales. The result goes to
// Session::set_adapters; requests with different choices cannot share a step (llama-server does
// not batch them together either).

#include <cstdint>
#include <span>
#include <vector>

#include "models/lora/lora_adapter.h"

namespace vkgraph::models {

struct AdapterRequest {
  int64_t id = -1;
  float scale = 0.0f;
};

// `loaded`: the start-up adapters with their default scales. Throws naming the entry for an id
// that is not loaded or a scale that is not finite; a repeated id keeps its last scale (as
// llama-server's parse_lora_request does).
std::vector<AdapterUse> choose_adapters(std::span<const AdapterUse> loaded, std::span<const AdapterRequest> request);

}  // namespace vkgraph::models
