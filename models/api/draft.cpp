// Speculative decoding on a context: vkgraph_context_set_draft, _clear_draft, _draft_stats. The
// decode loop itself is generate()'s (models/speculative/speculative_generation.h).

#include "models/api/handles.h"
#include "models/speculative/model_drafter.h"
#include "models/speculative/ngram_drafter.h"
#include "models/speculative/vocab_match.h"

namespace {

using vkgraph::api::checked;
using vkgraph::api::kContextTag;
using vkgraph::api::raise;

}  // namespace

namespace vkgraph::api {

void release_drafter(vkgraph_context& context) {
  if (context.draft_model != nullptr) {
    std::lock_guard lock(context.draft_model->loaded->device_mutex);
    context.drafter.reset();
    context.draft_model->draft_users.fetch_sub(1);
    context.draft_model = nullptr;
  }
  context.drafter.reset();
}

}  // namespace vkgraph::api

extern "C" {

vkgraph_draft_params vkgraph_draft_default_params(void) {
  const vkgraph::models::SpeculativeParams d;
  const vkgraph::models::NgramOptions n;
  return vkgraph_draft_params{d.draft_max, d.draft_min, n.min_match, 0.0f};
}

vkgraph_status vkgraph_context_set_draft(vkgraph_context* context, vkgraph_model* draft_model,
                                         const vkgraph_draft_params* params) {
  return vkgraph::api::guarded(VKGRAPH_ERR_DEVICE, [&] {
    const vkgraph::api::ContextUse use(context, "vkgraph_context_set_draft");
    if (draft_model != nullptr) checked(draft_model, vkgraph::api::kModelTag, "draft_model");
    const vkgraph_draft_params p = params != nullptr ? *params : vkgraph_draft_default_params();
    if (p.max_tokens < 1 || p.max_tokens > 256) {
      raise(VKGRAPH_ERR_INVALID_ARGUMENT, "max_tokens is " + std::to_string(p.max_tokens) + ", expected 1 to 256");
    }
    if (p.min_tokens < 0 || p.min_tokens > p.max_tokens) {
      raise(VKGRAPH_ERR_INVALID_ARGUMENT, "min_tokens is " + std::to_string(p.min_tokens) +
                                              ", expected 0 to max_tokens (" + std::to_string(p.max_tokens) + ")");
    }
    if (p.ngram_min < 1 || p.ngram_min > 16) {
      raise(VKGRAPH_ERR_INVALID_ARGUMENT, "ngram_min is " + std::to_string(p.ngram_min) + ", expected 1 to 16");
    }
    if (!(p.p_min >= 0.0f && p.p_min < 1.0f)) {
      raise(VKGRAPH_ERR_INVALID_ARGUMENT, "p_min is " + std::to_string(p.p_min) + ", expected [0, 1)");
    }
    vkgraph::models::SpeculativeParams speculative;
    speculative.draft_max = p.max_tokens;
    speculative.draft_min = p.min_tokens;
    if (draft_model != nullptr) {
      try {
        vkgraph::models::check_same_vocabulary(*context->loaded->model, *draft_model->loaded->model);
      } catch (const vkgraph::Error& e) {
        raise(VKGRAPH_ERR_MODEL, e.what());
      }
    }

    // The ring verifies without evicting in spare slots; a session without enough of them is
    // made again, which only an empty one allows.
    auto& session = context->session;
    const int64_t needed = vkgraph::models::verification_slots(speculative);
    if (session->ring() && session->spare_slots() < needed) {
      if (session->n_past() > 0) {
        raise(VKGRAPH_ERR_INVALID_ARGUMENT, "the context's KV ring has " + std::to_string(session->spare_slots()) +
                                                " spare slots and " + std::to_string(needed) + " are needed for " +
                                                std::to_string(p.max_tokens) +
                                                " drafts: set the draft on a new or reset context");
      }
      vkgraph::models::SessionOptions options = context->session_options;
      options.spare_slots = needed;
      std::lock_guard lock(context->loaded->device_mutex);
      // The new cache first: if it cannot be made, the context keeps the old one.
      auto larger =
          std::make_unique<vkgraph::models::Session>(*context->loaded->model, *context->loaded->backend, options);
      session = std::move(larger);
      context->session_options = options;
    }

    vkgraph::api::release_drafter(*context);
    if (draft_model == nullptr) {
      vkgraph::models::NgramOptions ngram;
      ngram.min_match = p.ngram_min;
      context->drafter = std::make_unique<vkgraph::models::NgramDrafter>(ngram);
    } else {
      vkgraph::models::ModelDrafterOptions options;
      options.max_tokens = p.max_tokens;
      options.p_min = p.p_min;
      vkgraph::models::SessionOptions draft_session = context->session_options;
      draft_session.spare_slots = 0;
      std::lock_guard lock(draft_model->loaded->device_mutex);
      context->drafter = std::make_unique<vkgraph::models::ModelDrafter>(
          *draft_model->loaded->model, *draft_model->loaded->backend, draft_session, options);
      context->draft_model = draft_model;
      draft_model->draft_users.fetch_add(1);
    }
    context->speculative = speculative;
  });
}

vkgraph_status vkgraph_context_clear_draft(vkgraph_context* context) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    const vkgraph::api::ContextUse use(context, "vkgraph_context_clear_draft");
    vkgraph::api::release_drafter(*context);
  });
}

vkgraph_status vkgraph_context_draft_stats(const vkgraph_context* context, vkgraph_draft_stats* out) {
  return vkgraph::api::guarded(VKGRAPH_ERR_INTERNAL, [&] {
    checked(context, kContextTag, "context");
    vkgraph::api::require(out != nullptr, "out is NULL");
    const vkgraph::models::SpeculativeStats& s = context->draft_stats;
    *out = vkgraph_draft_stats{s.target_steps, s.drafted, s.accepted, s.tokens};
  });
}

}  // extern "C"
