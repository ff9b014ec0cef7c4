// The registry of live handles, and ContextUse: one call at a time on a context.

#include <mutex>
#include <unordered_set>

#include "models/api/handles.h"

namespace vkgraph::api {
namespace {

// Guards the set of live handles and every context's claim (ContextUse): checking a context and
// claiming it happen together, so a free on another thread cannot come between them.
std::mutex live_mutex;
std::unordered_set<const void*>& live_handles() {
  static std::unordered_set<const void*> set;
  return set;
}

}  // namespace

void register_handle(const void* handle) {
  const std::lock_guard lock(live_mutex);
  live_handles().insert(handle);
}
void unregister_handle(const void* handle) {
  const std::lock_guard lock(live_mutex);
  live_handles().erase(handle);
}
bool is_live_handle(const void* handle) {
  const std::lock_guard lock(live_mutex);
  return live_handles().count(handle) != 0;
}

ContextUse::ContextUse(vkgraph_context* context, const char* call, Access access) : context_(context) {
  if (context == nullptr) raise(VKGRAPH_ERR_INVALID_ARGUMENT, "context is NULL");
  const std::thread::id self = std::this_thread::get_id();
  std::thread::id holder;
  {
    const std::lock_guard lock(live_mutex);
    if (live_handles().count(context) == 0 || context->tag != kContextTag) {
      raise(VKGRAPH_ERR_INVALID_HANDLE, "context is not a live handle (freed?)");
    }
    if (context->user.compare_exchange_strong(holder, self)) {
      claimed_ = true;
      return;
    }
  }
  // `holder` now names the thread inside another call on this context.
  if (holder == self) {
    // Only the token callback of this context's own vkgraph_generate runs on the thread that
    // holds it; the generation is paused there, so reading is safe.
    if (access == Access::read) return;
    raise(VKGRAPH_ERR_BUSY, std::string(call) +
                                ": the context is generating and this call comes from its own token callback; "
                                "return nonzero from the callback (or call vkgraph_context_cancel) to stop, "
                                "then call again after vkgraph_generate returns");
  }
  raise(VKGRAPH_ERR_BUSY, std::string(call) +
                              ": the context is in use by a call on another thread; a context is used by one "
                              "thread at a time (use one context per thread)");
}

ContextUse::~ContextUse() {
  if (claimed_) context_->user.store(std::thread::id{});
}

void resync_after_failure(vkgraph_context& context) {
  const auto held = size_t(context.session->n_past());
  if (context.history.size() > held) {
    context.history.resize(held);
    context.last_logits.clear();
  }
}

}  // namespace vkgraph::api
