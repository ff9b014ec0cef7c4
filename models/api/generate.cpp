// Samplers and vkgraph_generate: the shared decode loop (models/generation.h) with the caller's
// per-token callback and the context's cancel flag checked before each token is drawn.

#include <chrono>
#include <mutex>

#include "models/api/handles.h"
#include "models/generation.h"

namespace {

using vkgraph::api::checked;
using vkgraph::api::raise;
using vkgraph::api::require;

}  // namespace

extern "C" {

vkgraph_sampler_params vkgraph_sampler_default_params(void) {
  const vkgraph::models::SamplerParams d;
  return vkgraph_sampler_params{d.temperature, d.top_k, d.top_p, d.min_p, d.repeat_penalty, d.repeat_last_n, d.seed};
}

vkgraph_status vkgraph_sampler_create(const vkgraph_sampler_params* params, vkgraph_sampler** out_sampler) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INVALID_ARGUMENT, [&] {
    require(out_sampler != nullptr, "out_sampler is NULL");
    *out_sampler = nullptr;
    const vkgraph_sampler_params p = params != nullptr ? *params : vkgraph_sampler_default_params();
    require(p.temperature >= 0, "temperature is negative");
    require(p.top_k >= 0, "top_k is negative");
    require(p.top_p > 0 && p.top_p <= 1, "top_p is outside (0, 1]");
    require(p.min_p >= 0 && p.min_p <= 1, "min_p is outside [0, 1]");
    require(p.repeat_penalty > 0, "repeat_penalty is not positive");
    require(p.repeat_last_n >= 0, "repeat_last_n is negative");
    vkgraph::models::SamplerParams sp;
    sp.temperature = p.temperature;
    sp.top_k = p.top_k;
    sp.top_p = p.top_p;
    sp.min_p = p.min_p;
    sp.repeat_penalty = p.repeat_penalty;
    sp.repeat_last_n = p.repeat_last_n;
    sp.seed = p.seed;
    auto handle = std::make_unique<vkgraph_sampler>();
    handle->sampler = std::make_unique<vkgraph::models::Sampler>(sp);
    *out_sampler = handle.release();
    vkgraph::api::register_handle(*out_sampler);
  });
}

vkgraph_status vkgraph_sampler_free(vkgraph_sampler* sampler) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    checked(sampler, vkgraph::api::kSamplerTag, "sampler");
    vkgraph::api::unregister_handle(sampler);
    sampler->tag = 0;
    delete sampler;
  });
}

vkgraph_generate_params vkgraph_generate_default_params(void) { return vkgraph_generate_params{128, 0}; }

vkgraph_status vkgraph_generate(vkgraph_context* context, vkgraph_sampler* sampler, const vkgraph_token* prompt,
                                size_t n_prompt, const vkgraph_generate_params* params, vkgraph_token_fn on_token,
                                void* user_data, vkgraph_stop_reason* stop) {
  return vkgraph::api::guarded(VKGRAPH_ERR_DEVICE, [&] {
    // Held until the call returns, the token callbacks included: a call on this context from one
    // of them (or from another thread meanwhile) is refused with VKGRAPH_ERR_BUSY.
    const vkgraph::api::ContextUse use(context, "vkgraph_generate");
    checked(sampler, vkgraph::api::kSamplerTag, "sampler");
    require(prompt != nullptr || n_prompt == 0, "prompt is NULL with a nonzero count");
    const vkgraph_generate_params p = params != nullptr ? *params : vkgraph_generate_default_params();
    require(p.max_tokens >= 0, "max_tokens is negative");
    context->cancel.store(false, std::memory_order_release);
    if (n_prompt > 0) {
      vkgraph::api::eval_claimed(*context, prompt, n_prompt);
    } else if (context->last_logits.empty()) {
      raise(VKGRAPH_ERR_INVALID_ARGUMENT, "the prompt is empty and the context has evaluated nothing to continue");
    }
    auto& session = *context->session;
    // The context's device, and the draft model's when it drafts from another model: both at
    // once (std::lock's deadlock avoidance), since another context may hold them the other way.
    std::unique_lock lock(context->loaded->device_mutex, std::defer_lock);
    std::unique_lock<std::recursive_mutex> draft_lock;
    if (context->draft_model != nullptr && context->draft_model->loaded != context->loaded) {
      draft_lock = std::unique_lock(context->draft_model->loaded->device_mutex, std::defer_lock);
    }
    if (draft_lock.mutex() != nullptr) {
      std::lock(lock, draft_lock);
    } else {
      lock.lock();
    }
    bool callback_stopped = false;
    size_t seen = context->history.size();
    const auto emit = [&](const std::string& piece) {
      if (on_token == nullptr || callback_stopped) return;
      // generate() emits a token's completed text right after appending it to the history; its
      // final flush of held-back bytes comes with no new token (-1).
      vkgraph_token token = -1;
      if (context->history.size() > seen) {
        token = context->history.back();
        seen = context->history.size();
      }
      if (on_token(token, piece.c_str(), piece.size(), user_data) != 0) callback_stopped = true;
    };
    const auto should_stop = [&] { return callback_stopped || context->cancel.load(std::memory_order_acquire); };
    vkgraph::models::GenerateOptions options;
    options.max_tokens = p.max_tokens;
    options.ignore_eos = p.ignore_eos != 0;
    options.drafter = context->drafter.get();
    options.speculative = context->speculative;
    std::vector<float> logits = context->last_logits;
    vkgraph::models::GenerateResult result;
    try {
      result = vkgraph::models::generate(session, std::move(logits), *sampler->sampler, context->history, options, emit,
                                         should_stop);
    } catch (const vkgraph::models::NonFiniteLogits& e) {
      vkgraph::api::resync_after_failure(*context);
      raise(VKGRAPH_ERR_MODEL, e.what());
    } catch (...) {
      vkgraph::api::resync_after_failure(*context);
      throw;
    }
    context->timings.generated_tokens = int64_t(result.tokens.size());
    context->timings.generation_seconds = result.seconds;
    context->draft_stats = result.speculative;
    // Keep the cache and the history in step: the last sampled token is evaluated now when
    // generate() left it out (it stopped at its limit), so a later call continues after it.
    if (result.evaluated < result.tokens.size()) {
      if (session.fits(1)) {
        const int32_t last[] = {result.tokens.back()};
        context->last_logits = session.eval(last);
      } else {
        context->history.pop_back();
      }
    } else if (!result.tokens.empty() || result.stopped_at_eog) {
      // generate() consumed the logits of the last token it evaluated (or drew an end token
      // from the ones held): a continuation needs new prompt tokens.
      context->last_logits.clear();
    }
    if (stop != nullptr) {
      *stop = result.interrupted      ? VKGRAPH_STOP_CANCELLED
              : result.stopped_at_eog ? VKGRAPH_STOP_EOG
              : result.context_full   ? VKGRAPH_STOP_CONTEXT_FULL
                                      : VKGRAPH_STOP_MAX_TOKENS;
    }
  });
}

}  // extern "C"
