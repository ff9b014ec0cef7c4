// Models: load (with progress and cancel), free, tokenize, detokenize, chat templates.

#include <dlfcn.h>

#include <filesystem>
#include <string>

#include "engine/backend/registry.h"
#include "models/api/handles.h"
#include "models/bundled/default_model.h"
#include "models/chat/chat_template.h"
#include "models/tokenizer/tokenizer.h"

namespace {

using vkgraph::api::raise;
using vkgraph::api::require;

// The bundled model beside the library as installed (<prefix>/lib/libvkgraph.so ->
// <prefix>/share/vkgraph/), else where the executable-relative and source-tree lookups find it.
std::string bundled_model_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&vkgraph_model_load), &info) != 0 && info.dli_fname != nullptr) {
    std::error_code ec;
    const auto lib = std::filesystem::canonical(info.dli_fname, ec);
    if (!ec) {
      for (const char* up : {"..", "../.."}) {  // lib/ or lib/<multiarch>/
        const auto candidate = lib.parent_path() / up / "share" / "vkgraph" / "stories260K.gguf";
        if (std::filesystem::is_regular_file(candidate, ec)) return candidate.lexically_normal().string();
      }
    }
  }
  return vkgraph::models::default_model_path();
}

const vkgraph::models::Model& model_of(const vkgraph_model* model) {
  return *vkgraph::api::checked(model, vkgraph::api::kModelTag, "model")->model;
}

}  // namespace

extern "C" {

vkgraph_model_params vkgraph_model_default_params(void) {
  // The registry's default backend, kept for the life of the process: p.backend points into it.
  static const std::string backend = vkgraph::default_backend_name();
  vkgraph_model_params p{};
  p.backend = backend.c_str();
  return p;
}

vkgraph_status vkgraph_model_load(const char* path, const vkgraph_model_params* params, vkgraph_model** out_model) {
  return vkgraph::api::guarded(VKGRAPH_ERR_MODEL, [&] {
    require(out_model != nullptr, "out_model is NULL");
    *out_model = nullptr;
    const vkgraph_model_params p = params != nullptr ? *params : vkgraph_model_default_params();
    std::string file;
    try {
      file = path != nullptr ? std::string(path) : bundled_model_path();
    } catch (const vkgraph::Error& e) {
      raise(VKGRAPH_ERR_FILE, e.what());
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      raise(VKGRAPH_ERR_FILE, "model file '" + file + "' does not exist or is not a file");

    auto handle = std::make_unique<vkgraph_model>();
    try {
      handle->backend =
          vkgraph::create_backend(p.backend != nullptr ? std::string(p.backend) : vkgraph::default_backend_name(),
                                  p.device != nullptr ? p.device : "");
    } catch (const vkgraph::Error& e) {
      raise(VKGRAPH_ERR_DEVICE, e.what());
    }
    bool cancelled = false;
    vkgraph::models::LoadOptions options;
    options.progress = [&](const vkgraph::models::LoadProgress& progress) {
      if (p.cancel != nullptr && *p.cancel != 0) cancelled = true;
      if (!cancelled && p.progress != nullptr &&
          p.progress(progress.bytes_done, progress.bytes_total, p.progress_user_data) != 0) {
        cancelled = true;
      }
      return !cancelled;
    };
    try {
      handle->model = vkgraph::models::Model::load(file, *handle->backend, options);
    } catch (const vkgraph::Error& e) {
      if (cancelled) raise(VKGRAPH_ERR_CANCELLED, "loading '" + file + "' was cancelled");
      throw;
    }
    *out_model = handle.release();
    vkgraph::api::register_handle(*out_model);
  });
}

vkgraph_status vkgraph_model_free(vkgraph_model* model) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    vkgraph::api::checked(model, vkgraph::api::kModelTag, "model");
    {
      std::lock_guard lock(model->device_mutex);
      while (!model->adapters.empty()) vkgraph::api::free_adapter_locked(model->adapters.back());
    }
    vkgraph::api::unregister_handle(model);
    model->tag = 0;
    delete model;
  });
}

vkgraph_status vkgraph_model_n_vocab(const vkgraph_model* model, int32_t* out) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    const auto& m = model_of(model);
    require(out != nullptr, "out is NULL");
    *out = int32_t(m.hparams().n_vocab);
  });
}

vkgraph_status vkgraph_model_n_ctx_train(const vkgraph_model* model, int32_t* out) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    const auto& m = model_of(model);
    require(out != nullptr, "out is NULL");
    *out = int32_t(m.hparams().n_ctx_train);
  });
}

vkgraph_status vkgraph_tokenize(const vkgraph_model* model, const char* text, size_t text_len, int add_bos,
                                int parse_special, vkgraph_token* tokens, size_t capacity, size_t* n_tokens) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INVALID_ARGUMENT, [&] {
    const auto& m = model_of(model);
    require(text != nullptr || text_len == 0, "text is NULL with a nonzero length");
    require(n_tokens != nullptr, "n_tokens is NULL");
    require(tokens != nullptr || capacity == 0, "tokens is NULL with a nonzero capacity");
    const auto& tok = m.tokenizer();
    const auto ids = tok.encode(std::string_view(text != nullptr ? text : "", text_len), add_bos != 0 && tok.add_bos(),
                                parse_special != 0);
    *n_tokens = ids.size();
    if (capacity < ids.size()) {
      raise(VKGRAPH_ERR_INVALID_ARGUMENT, "the token buffer holds " + std::to_string(capacity) +
                                              " ids but the text needs " + std::to_string(ids.size()));
    }
    std::copy(ids.begin(), ids.end(), tokens);
  });
}

vkgraph_status vkgraph_detokenize(const vkgraph_model* model, const vkgraph_token* tokens, size_t n_tokens, char* text,
                                  size_t capacity, size_t* length) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INVALID_ARGUMENT, [&] {
    const auto& m = model_of(model);
    require(tokens != nullptr || n_tokens == 0, "tokens is NULL with a nonzero count");
    const auto n_vocab = int64_t(m.tokenizer().vocab_size());
    for (size_t i = 0; i < n_tokens; ++i) {
      if (tokens[i] < 0 || tokens[i] >= n_vocab) {
        raise(VKGRAPH_ERR_INVALID_ARGUMENT, "token " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                                                " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
      }
    }
    vkgraph::api::copy_out(m.tokenizer().decode(std::span<const int32_t>(tokens, n_tokens)), text, capacity, length);
  });
}

vkgraph_status vkgraph_apply_chat_template(const vkgraph_model* model, const char* template_name,
                                           const vkgraph_chat_message* messages, size_t n_messages,
                                           int add_generation_prompt, char* text, size_t capacity, size_t* length) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INVALID_ARGUMENT, [&] {
    const auto& m = model_of(model);
    require(messages != nullptr || n_messages == 0, "messages is NULL with a nonzero count");
    std::vector<vkgraph::chat::Message> list;
    for (size_t i = 0; i < n_messages; ++i) {
      if (messages[i].role == nullptr || messages[i].content == nullptr) {
        raise(VKGRAPH_ERR_INVALID_ARGUMENT, "message " + std::to_string(i) + " has a NULL role or content");
      }
      list.push_back({messages[i].role, messages[i].content});
    }
    // The model's own (Jinja) template, or what template_name names: a built-in format or a file.
    const auto tmpl =
        vkgraph::chat::ChatTemplate::for_model(template_name != nullptr ? template_name : "", m.chat_template(),
                                               vkgraph::chat::TemplateTokens::from_tokenizer(m.tokenizer()));
    vkgraph::api::copy_out(tmpl.format(list, add_generation_prompt != 0), text, capacity, length);
  });
}

}  // extern "C"
