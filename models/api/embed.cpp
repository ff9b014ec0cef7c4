// Embeddings: vkgraph_embed and vkgraph_model_n_embd.

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>

#include "models/api/handles.h"

namespace {

using vkgraph::api::raise;
using vkgraph::api::require;

// The embedder's KV cache holds the longest text so far: the model's context (at most 4096)
// first, then the next power of two that fits a longer one.
int64_t embedder_capacity(const vkgraph::models::Hparams& hp, int64_t n_tokens) {
  int64_t capacity = std::min<int64_t>(hp.n_ctx_train > 0 ? hp.n_ctx_train : 4096, 4096);
  while (capacity < n_tokens) capacity *= 2;
  return capacity;
}

}  // namespace

extern "C" {

vkgraph_status vkgraph_model_n_embd(const vkgraph_model* model, int32_t* out) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    const auto* m = vkgraph::api::checked(model, vkgraph::api::kModelTag, "model");
    require(out != nullptr, "out is NULL");
    *out = int32_t(m->loaded->model->hparams().n_embd);
  });
}

vkgraph_status vkgraph_embed(vkgraph_model* model, const vkgraph_token* tokens, size_t n_tokens,
                             vkgraph_pooling pooling, float* out, size_t capacity, size_t* n_floats) {
  return vkgraph::api::guarded(VKGRAPH_ERR_DEVICE, [&] {
    vkgraph::api::checked(model, vkgraph::api::kModelTag, "model");
    require(tokens != nullptr && n_tokens > 0, "tokens is NULL or empty");
    require(n_floats != nullptr, "n_floats is NULL");
    require(out != nullptr || capacity == 0, "out is NULL with a nonzero capacity");
    vkgraph::api::LoadedModel& loaded = *model->loaded;
    const auto& hp = loaded.model->hparams();
    // A C caller may pass any int: read it as one, since loading an enum value outside the
    // enumerators' range is undefined in C++ (UBSan's -fsanitize=enum reports it).
    std::underlying_type_t<vkgraph_pooling> requested{};
    std::memcpy(&requested, &pooling, sizeof requested);
    vkgraph::models::Pooling p;
    switch (requested) {
      case VKGRAPH_POOLING_DEFAULT:
        p = vkgraph::models::default_pooling(hp);
        break;
      case VKGRAPH_POOLING_NONE:
        p = vkgraph::models::Pooling::none;
        break;
      case VKGRAPH_POOLING_MEAN:
        p = vkgraph::models::Pooling::mean;
        break;
      case VKGRAPH_POOLING_CLS:
        p = vkgraph::models::Pooling::cls;
        break;
      case VKGRAPH_POOLING_LAST:
        p = vkgraph::models::Pooling::last;
        break;
      default:
        raise(VKGRAPH_ERR_INVALID_ARGUMENT, "pooling is " + std::to_string(requested) + ", expected -1 to 3");
    }
    if (p == vkgraph::models::Pooling::rank) {
      raise(VKGRAPH_ERR_UNSUPPORTED,
            "the model's pooling is rank, which needs a classifier head vkgraph does not load");
    }
    const auto n_vocab = int64_t(hp.n_vocab);
    for (size_t i = 0; i < n_tokens; ++i) {
      if (tokens[i] < 0 || tokens[i] >= n_vocab) {
        raise(VKGRAPH_ERR_INVALID_ARGUMENT, "token " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                                                " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
      }
    }
    const size_t needed = p == vkgraph::models::Pooling::none ? n_tokens * size_t(hp.n_embd) : size_t(hp.n_embd);
    *n_floats = needed;
    if (capacity < needed) {
      raise(VKGRAPH_ERR_INVALID_ARGUMENT,
            "capacity is " + std::to_string(capacity) + " floats; the embedding has " + std::to_string(needed));
    }
    std::lock_guard lock(loaded.device_mutex);
    if (!loaded.embedder || loaded.embedder->n_ctx() < int64_t(n_tokens)) {
      loaded.embedder.reset();  // free the smaller cache first
      loaded.embedder = std::make_unique<vkgraph::models::Embedder>(*loaded.model, *loaded.backend,
                                                                    embedder_capacity(hp, int64_t(n_tokens)));
    }
    const std::vector<float> v = loaded.embedder->embed(std::span<const int32_t>(tokens, n_tokens), p);
    std::memcpy(out, v.data(), v.size() * sizeof(float));
  });
}

}  // extern "C"
