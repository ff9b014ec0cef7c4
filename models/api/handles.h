#pragma once
// What the C API's opaque handles hold, and `guarded`, which turns every C++ exception into a
// status and a thread-local message so none crosses the C boundary.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/backend/backend.h"
#include "include/vkgraph.h"
#include "models/embedding.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"
#include "models/sampler.h"
#include "models/session.h"
#include "models/speculative/drafter.h"
#include "models/speculative/speculative_params.h"

namespace vkgraph::api {

// Tags checked on every call: a freed handle has its tag cleared, so reuse is reported.
inline constexpr uint32_t kModelTag = 0x4d4f444cu;    // "MODL"
inline constexpr uint32_t kContextTag = 0x43545854u;  // "CTXT"
inline constexpr uint32_t kSamplerTag = 0x534d504cu;  // "SMPL"
inline constexpr uint32_t kAdapterTag = 0x4c4f5241u;  // "LORA"

// A status with its message, thrown inside the API and caught by `guarded`.
struct ApiError {
  vkgraph_status status;
  std::string message;
};

[[noreturn]] void raise(vkgraph_status status, std::string message);
void set_last_error(const std::string& message);
void clear_last_error();

// Runs `body`, mapping exceptions to statuses (a plain vkgraph::Error becomes `fallback`).
template <typename Body>
vkgraph_status guarded(vkgraph_status fallback, Body&& body) noexcept;

}  // namespace vkgraph::api

namespace vkgraph::api {

// What a model's contexts share: the backend, the weights, and the lock their device work takes
// turns on. The model handle and each of its contexts own it together, so freeing the model
// while contexts live keeps it until the last of them is freed (their sessions point into it).
struct LoadedModel {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<models::Model> model;  // destroyed before the backend its weights live on
  // Contexts of one model share its backend, which is not known to be thread-safe: their device
  // work is serialized here. Recursive: a token callback running under it may evaluate on
  // another context of the same model (the generating context itself refuses, see ContextUse).
  std::recursive_mutex device_mutex;
  // vkgraph_embed's KV cache and steps, made on its first call (under device_mutex); destroyed
  // first, before the model and backend it uses.
  std::unique_ptr<models::Embedder> embedder;
};

}  // namespace vkgraph::api

struct vkgraph_model {
  uint32_t tag = vkgraph::api::kModelTag;
  std::shared_ptr<vkgraph::api::LoadedModel> loaded;
  // The adapters loaded for this model and not freed yet (freed with it); guarded by the loaded
  // model's device_mutex. The adapters' weights are shared with the sessions applying them.
  std::vector<vkgraph_adapter*> adapters;
  // Contexts drafting with this model (vkgraph_context_set_draft): it cannot be freed before them.
  std::atomic<int> draft_users{0};
};

struct vkgraph_adapter {
  uint32_t tag = vkgraph::api::kAdapterTag;
  vkgraph_model* owner = nullptr;
  // Shared with the sessions that apply it: freeing the handle while a context still applies
  // the adapter keeps its weights until that context lets go.
  std::shared_ptr<const vkgraph::models::LoraAdapter> adapter;
};

struct vkgraph_context {
  uint32_t tag = vkgraph::api::kContextTag;
  std::shared_ptr<vkgraph::api::LoadedModel> loaded;  // outlives the session (declared first)
  // The thread inside a call that uses this context, or none: one call at a time (ContextUse).
  std::atomic<std::thread::id> user{};
  std::unique_ptr<vkgraph::models::Session> session;
  std::vector<int32_t> history;     // every token the cache holds, for the repetition penalty
  std::vector<float> last_logits;   // of the last evaluated token; empty before the first
  std::atomic<bool> cancel{false};  // set by vkgraph_context_cancel from any thread
  vkgraph_timings timings{};
  // The session's options, to reallocate it with spare slots for speculative decoding.
  vkgraph::models::SessionOptions session_options;
  // Speculative decoding (vkgraph_context_set_draft); no drafter: off.
  std::unique_ptr<vkgraph::models::Drafter> drafter;
  vkgraph_model* draft_model = nullptr;  // NULL with n-gram drafts
  vkgraph::models::SpeculativeParams speculative;
  vkgraph::models::SpeculativeStats draft_stats;
};

struct vkgraph_sampler {
  uint32_t tag = vkgraph::api::kSamplerTag;
  std::unique_ptr<vkgraph::models::Sampler> sampler;
};

namespace vkgraph::api {

// Every live handle is registered, so a freed or foreign pointer is recognized by its address
// before any of its memory is read (a tag alone would have to read freed memory).
void register_handle(const void* handle);
void unregister_handle(const void* handle);
bool is_live_handle(const void* handle);

// Checks a handle argument: not NULL, registered, and carrying its tag.
template <typename Handle>
Handle* checked(Handle* handle, uint32_t tag, const char* what) {
  if (handle == nullptr) raise(VKGRAPH_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL");
  if (!is_live_handle(handle) || handle->tag != tag) {
    raise(VKGRAPH_ERR_INVALID_HANDLE, std::string(what) + " is not a live handle (freed?)");
  }
  return handle;
}

void require(bool condition, const char* message);  // VKGRAPH_ERR_INVALID_ARGUMENT otherwise

// Frees an adapter handle and forgets it in its model's list; the caller holds the model's
// device_mutex.
void free_adapter_locked(vkgraph_adapter* adapter);

// Holds a context for one call: checks the handle like `checked`, then claims the context for
// this thread until it goes out of scope. A context is used by one call at a time (vkgraph.h);
// a second one, from another thread or from the token callback of the context's own
// vkgraph_generate, fails with VKGRAPH_ERR_BUSY naming which, instead of racing on the session
// or deadlocking on the device lock. The claim is made under the same lock as the handle check,
// so a context being freed is either still claimed (busy) or no longer live, never half gone.
// `reading`: a call that only reads (n_past, n_ctx, timings) may run from inside the context's
// own token callback, where the generating call is paused on the same thread.
class ContextUse {
 public:
  enum class Access { modify, read };
  ContextUse(vkgraph_context* context, const char* call, Access access = Access::modify);
  ~ContextUse();
  ContextUse(const ContextUse&) = delete;
  ContextUse& operator=(const ContextUse&) = delete;
  vkgraph_context& operator*() const { return *context_; }
  vkgraph_context* operator->() const { return context_; }

 private:
  vkgraph_context* context_;
  bool claimed_ = false;
};

// vkgraph_eval's body for a context the caller has claimed (vkgraph_generate evaluates its
// prompt with it under its own claim). A step refused for non-finite logits is
// VKGRAPH_ERR_MODEL.
void eval_claimed(vkgraph_context& context, const vkgraph_token* tokens, size_t n_tokens);

// After a failed evaluation: the history and the last logits follow what the session still
// holds (a refused step resets it, see models/session.h).
void resync_after_failure(vkgraph_context& context);

// Copies `text` into a caller's buffer of `capacity` bytes with a NUL; sets *length first.
void copy_out(const std::string& text, char* out, size_t capacity, size_t* length);

// Drops the context's drafter, if any: its draft-model session frees device memory under the
// draft model's lock, and the draft model is no longer held (models/api/draft.cpp).
void release_drafter(vkgraph_context& context);

}  // namespace vkgraph::api

#include "models/api/guarded.h"
