// Models from the Hugging Face Hub: a name to a local path (models/hub/resolve.h).

#include "models/api/handles.h"
#include "models/hub/hub_config.h"
#include "models/hub/hub_error.h"
#include "models/hub/resolve.h"

namespace {

vkgraph_status status_of(vkgraph::hub::HubErrorKind kind) {
  using Kind = vkgraph::hub::HubErrorKind;
  switch (kind) {
    case Kind::invalid_name:
      return VKGRAPH_ERR_INVALID_ARGUMENT;
    case Kind::not_found:
      return VKGRAPH_ERR_NOT_FOUND;
    case Kind::access:
      return VKGRAPH_ERR_ACCESS;
    case Kind::network:
    case Kind::integrity:
      return VKGRAPH_ERR_NETWORK;
    case Kind::disk:
      return VKGRAPH_ERR_FILE;
    case Kind::cancelled:
      return VKGRAPH_ERR_CANCELLED;
  }
  return VKGRAPH_ERR_INTERNAL;
}

}  // namespace

extern "C" {

vkgraph_hub_params vkgraph_hub_default_params(void) { return vkgraph_hub_params{}; }

vkgraph_status vkgraph_hub_resolve(const char* name, const vkgraph_hub_params* params, char* path, size_t capacity,
                                   size_t* length) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    vkgraph::api::require(name != nullptr, "name is NULL");
    vkgraph::api::require(length != nullptr, "length is NULL");
    const vkgraph_hub_params p = params != nullptr ? *params : vkgraph_hub_default_params();
    try {
      const vkgraph::hub::ModelName parsed = vkgraph::hub::parse_model_name(name);
      vkgraph::hub::HubConfig config = vkgraph::hub::HubConfig::from_environment();
      if (p.endpoint != nullptr) {
        config.endpoint = p.endpoint;
        while (!config.endpoint.empty() && config.endpoint.back() == '/') config.endpoint.pop_back();
      }
      if (p.cache_dir != nullptr) config.cache_dir = p.cache_dir;
      if (p.token != nullptr) {
        config.token = p.token;
        config.token_source = "vkgraph_hub_params.token";
      }
      config.offline = config.offline || p.offline != 0;
      vkgraph::hub::ResolveOptions options;
      options.refresh = p.refresh != 0;
      options.keep_going = [&p] { return p.cancel == nullptr || *p.cancel == 0; };
      options.progress = [&p](const vkgraph::hub::DownloadProgress& progress) {
        return p.progress == nullptr || p.progress(progress.done, progress.total, p.progress_user_data) == 0;
      };
      const vkgraph::hub::ResolvedModel model = vkgraph::hub::resolve_model(parsed, config, options);
      vkgraph::api::copy_out(model.path, path, capacity, length);
    } catch (const vkgraph::hub::HubError& e) {
      vkgraph::api::raise(status_of(e.kind()), e.what());
    }
  });
}

}  // extern "C"
