#pragma once
// What the C API's opaque handles hold, and `guarded`, which turns every C++ exception into a
// status and a thread-local message so none crosses the C boundary.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "include/vkgraph.h"
#include "models/embedding.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"
#include "models/sampler.h"
#include "models/session.h"

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

struct vkgraph_model {
  uint32_t tag = vkgraph::api::kModelTag;
  std::unique_ptr<vkgraph::Backend> backend;
  std::unique_ptr<vkgraph::models::Model> model;
  // Contexts of one model share its backend, which is not known to be thread-safe: their
  // device work is serialized here.
  std::mutex device_mutex;
  // vkgraph_embed's KV cache and steps, made on its first call (under device_mutex).
  std::unique_ptr<vkgraph::models::Embedder> embedder;
  // The adapters loaded for this model and not freed yet (freed with it); guarded by
  // device_mutex. Declared after the model and backend, so destroyed before them.
  std::vector<vkgraph_adapter*> adapters;
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
  vkgraph_model* owner = nullptr;
  std::unique_ptr<vkgraph::models::Session> session;
  std::vector<int32_t> history;     // every token the cache holds, for the repetition penalty
  std::vector<float> last_logits;   // of the last evaluated token; empty before the first
  std::atomic<bool> cancel{false};  // set by vkgraph_context_cancel from any thread
  vkgraph_timings timings{};
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

// Copies `text` into a caller's buffer of `capacity` bytes with a NUL; sets *length first.
void copy_out(const std::string& text, char* out, size_t capacity, size_t* length);

}  // namespace vkgraph::api

#include "models/api/guarded.h"
