// Contexts: a session (KV cache and prepared steps) on the model's backend; eval, reset, cancel.

#include <chrono>
#include <cstring>

#include "models/api/handles.h"

namespace {

using vkgraph::api::checked;
using vkgraph::api::ContextUse;
using vkgraph::api::kContextTag;
using vkgraph::api::raise;
using vkgraph::api::require;

}  // namespace

namespace vkgraph::api {

void eval_claimed(vkgraph_context& context, const vkgraph_token* tokens, size_t n_tokens) {
  require(tokens != nullptr && n_tokens > 0, "tokens is NULL or empty");
  auto& session = *context.session;
  const auto n_vocab = int64_t(session.model().hparams().n_vocab);
  for (size_t i = 0; i < n_tokens; ++i) {
    if (tokens[i] < 0 || tokens[i] >= n_vocab) {
      raise(VKGRAPH_ERR_INVALID_ARGUMENT, "token " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                                              " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
    }
  }
  if (!session.fits(int64_t(n_tokens))) {
    raise(VKGRAPH_ERR_CONTEXT_FULL, std::to_string(n_tokens) + " tokens after " + std::to_string(session.n_past()) +
                                        " do not fit the context of " + std::to_string(session.n_ctx()));
  }
  std::lock_guard lock(context.loaded->device_mutex);
  const auto start = std::chrono::steady_clock::now();
  try {
    context.last_logits = session.eval(std::span<const int32_t>(tokens, n_tokens));
  } catch (const vkgraph::models::NonFiniteLogits& e) {
    resync_after_failure(context);
    raise(VKGRAPH_ERR_MODEL, e.what());
  } catch (...) {
    resync_after_failure(context);
    throw;
  }
  context.timings.prompt_tokens = int64_t(n_tokens);
  context.timings.prompt_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  context.history.insert(context.history.end(), tokens, tokens + n_tokens);
}

}  // namespace vkgraph::api

extern "C" {

// The ring with 4 sinks, as `vkgraph run` and `vkgraph chat` use by default.
vkgraph_context_params vkgraph_context_default_params(void) { return vkgraph_context_params{0, 4}; }

vkgraph_status vkgraph_context_create(vkgraph_model* model, const vkgraph_context_params* params,
                                      vkgraph_context** out_context) {
  return vkgraph::api::guarded(VKGRAPH_ERR_DEVICE, [&] {
    checked(model, vkgraph::api::kModelTag, "model");
    require(out_context != nullptr, "out_context is NULL");
    *out_context = nullptr;
    const vkgraph_context_params p = params != nullptr ? *params : vkgraph_context_default_params();
    if (p.n_ctx < 0) raise(VKGRAPH_ERR_INVALID_ARGUMENT, "n_ctx is " + std::to_string(p.n_ctx) + ", expected >= 0");
    if (p.sinks < 0 || (p.n_ctx > 0 && p.sinks >= p.n_ctx)) {
      raise(VKGRAPH_ERR_INVALID_ARGUMENT, "sinks is " + std::to_string(p.sinks) +
                                              ", expected 0 (no ring) or 1 to n_ctx - 1 (n_ctx is " +
                                              std::to_string(p.n_ctx) + ")");
    }
    auto handle = std::make_unique<vkgraph_context>();
    handle->loaded = model->loaded;
    vkgraph::api::LoadedModel& loaded = *handle->loaded;
    vkgraph::models::SessionOptions options;
    options.n_ctx = p.n_ctx;
    options.sinks = p.sinks;
    handle->session_options = options;
    std::lock_guard lock(loaded.device_mutex);
    try {
      handle->session = std::make_unique<vkgraph::models::Session>(*loaded.model, *loaded.backend, options);
    } catch (const std::bad_alloc&) {
      raise(VKGRAPH_ERR_OUT_OF_MEMORY, "a context of " + std::to_string(p.n_ctx) + " tokens does not fit in memory");
    } catch (const vkgraph::Error& e) {
      raise(VKGRAPH_ERR_DEVICE, "a context of " + std::to_string(p.n_ctx) + " tokens could not be created on " +
                                    loaded.backend->device_name() + ": " + e.what());
    }
    *out_context = handle.release();
    vkgraph::api::register_handle(*out_context);
  });
}

vkgraph_status vkgraph_context_free(vkgraph_context* context) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    {
      const ContextUse use(context, "vkgraph_context_free");  // refused while another call uses it
      vkgraph::api::unregister_handle(context);               // from here on no other call can claim it
    }
    vkgraph::api::release_drafter(*context);
    // The model (and its device lock) may live only through this context: keep it until the
    // session, which frees device memory under the lock, is gone.
    const std::shared_ptr<vkgraph::api::LoadedModel> loaded = context->loaded;
    std::lock_guard lock(loaded->device_mutex);
    context->tag = 0;
    delete context;
  });
}

vkgraph_status vkgraph_context_reset(vkgraph_context* context) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    const ContextUse use(context, "vkgraph_context_reset");
    std::lock_guard lock(context->loaded->device_mutex);
    context->session->reset();
    context->history.clear();
    context->last_logits.clear();
    context->timings = {};
  });
}

vkgraph_status vkgraph_context_n_past(const vkgraph_context* context, int32_t* out) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    const ContextUse use(const_cast<vkgraph_context*>(context), "vkgraph_context_n_past", ContextUse::Access::read);
    require(out != nullptr, "out is NULL");
    *out = int32_t(context->session->n_past());
  });
}

vkgraph_status vkgraph_context_n_ctx(const vkgraph_context* context, int32_t* out) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    const ContextUse use(const_cast<vkgraph_context*>(context), "vkgraph_context_n_ctx", ContextUse::Access::read);
    require(out != nullptr, "out is NULL");
    *out = int32_t(context->session->n_ctx());
  });
}

vkgraph_status vkgraph_eval(vkgraph_context* context, const vkgraph_token* tokens, size_t n_tokens, float* logits) {
  return vkgraph::api::guarded(VKGRAPH_ERR_DEVICE, [&] {
    const ContextUse use(context, "vkgraph_eval");
    vkgraph::api::eval_claimed(*context, tokens, n_tokens);
    if (logits != nullptr)
      std::memcpy(logits, context->last_logits.data(), context->last_logits.size() * sizeof(float));
  });
}

vkgraph_status vkgraph_context_cancel(vkgraph_context* context) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    checked(context, kContextTag, "context");
    context->cancel.store(true, std::memory_order_release);
  });
}

vkgraph_status vkgraph_context_timings(const vkgraph_context* context, vkgraph_timings* out) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    const ContextUse use(const_cast<vkgraph_context*>(context), "vkgraph_context_timings", ContextUse::Access::read);
    require(out != nullptr, "out is NULL");
    *out = context->timings;
  });
}

}  // extern "C"
