// LoRA adapters: loaded once per model (models/lora/lora_adapter.h), applied per context at a
// scale (Session::set_adapters), freed with the model at the latest.

#include <algorithm>
#include <filesystem>
#include <string>

#include "models/api/handles.h"

namespace {

using vkgraph::api::checked;
using vkgraph::api::raise;
using vkgraph::api::require;

}  // namespace

namespace vkgraph::api {

// Frees an adapter handle; the caller holds its model's device_mutex (the adapter's weights may
// be freed here, on the model's device).
void free_adapter_locked(vkgraph_adapter* adapter) {
  std::vector<vkgraph_adapter*>& list = adapter->owner->adapters;
  list.erase(std::remove(list.begin(), list.end(), adapter), list.end());
  unregister_handle(adapter);
  adapter->tag = 0;
  delete adapter;
}

}  // namespace vkgraph::api

extern "C" {

vkgraph_status vkgraph_adapter_load(vkgraph_model* model, const char* path, vkgraph_adapter** out_adapter) {
  return vkgraph::api::guarded(VKGRAPH_ERR_MODEL, [&] {
    checked(model, vkgraph::api::kModelTag, "model");
    require(out_adapter != nullptr, "out_adapter is NULL");
    *out_adapter = nullptr;
    require(path != nullptr, "path is NULL");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      raise(VKGRAPH_ERR_FILE, std::string("adapter file '") + path + "' does not exist or is not a file");
    }
    auto handle = std::make_unique<vkgraph_adapter>();
    handle->owner = model;
    std::lock_guard lock(model->device_mutex);
    handle->adapter = vkgraph::models::LoraAdapter::load(path, *model->model, *model->backend);
    model->adapters.push_back(handle.get());
    *out_adapter = handle.release();
    vkgraph::api::register_handle(*out_adapter);
  });
}

vkgraph_status vkgraph_adapter_free(vkgraph_adapter* adapter) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    checked(adapter, vkgraph::api::kAdapterTag, "adapter");
    std::lock_guard lock(adapter->owner->device_mutex);
    vkgraph::api::free_adapter_locked(adapter);
  });
}

vkgraph_status vkgraph_context_set_adapters(vkgraph_context* context, const vkgraph_adapter_scale* adapters,
                                            size_t n_adapters) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INVALID_ARGUMENT, [&] {
    checked(context, vkgraph::api::kContextTag, "context");
    require(adapters != nullptr || n_adapters == 0, "adapters is NULL with a nonzero count");
    std::vector<vkgraph::models::AdapterUse> uses;
    for (size_t i = 0; i < n_adapters; ++i) {
      const vkgraph_adapter* a = adapters[i].adapter;
      if (a == nullptr) raise(VKGRAPH_ERR_INVALID_ARGUMENT, "adapter " + std::to_string(i) + " is NULL");
      checked(a, vkgraph::api::kAdapterTag, "adapter");
      if (a->owner != context->owner) {
        raise(VKGRAPH_ERR_INVALID_ARGUMENT, "adapter " + std::to_string(i) + " ('" + a->adapter->path() +
                                                "') was loaded for another model than the context's");
      }
      uses.push_back({a->adapter, adapters[i].scale});
    }
    // Dropping the steps built with the previous adapters frees device memory.
    std::lock_guard lock(context->owner->device_mutex);
    context->session->set_adapters(std::move(uses));  // checks scales and repeats (Error: invalid argument)
  });
}

}  // extern "C"
