// Version, the thread-local error message and status names.

#include <cstring>
#include <mutex>
#include <unordered_set>

#include "engine/core/version.h"
#include "models/api/handles.h"

namespace vkgraph::api {
namespace {
thread_local std::string last_error;
}

namespace {
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

void raise(vkgraph_status status, std::string message) { throw ApiError{status, std::move(message)}; }
void set_last_error(const std::string& message) { last_error = message; }
void clear_last_error() { last_error.clear(); }
void require(bool condition, const char* message) {
  if (!condition) raise(VKGRAPH_ERR_INVALID_ARGUMENT, message);
}

void copy_out(const std::string& text, char* out, size_t capacity, size_t* length) {
  require(length != nullptr, "length is NULL");
  *length = text.size();
  require(out != nullptr || capacity == 0, "the text buffer is NULL with a nonzero capacity");
  if (capacity < text.size() + 1) {
    raise(VKGRAPH_ERR_INVALID_ARGUMENT, "the text buffer holds " + std::to_string(capacity) + " bytes but " +
                                            std::to_string(text.size() + 1) + " are needed (with the NUL)");
  }
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
}

}  // namespace vkgraph::api

extern "C" {

const char* vkgraph_version(void) { return vkgraph::version(); }

const char* vkgraph_last_error(void) { return vkgraph::api::last_error.c_str(); }

const char* vkgraph_status_name(vkgraph_status status) {
  switch (status) {
    case VKGRAPH_OK:
      return "VKGRAPH_OK";
    case VKGRAPH_ERR_INVALID_ARGUMENT:
      return "VKGRAPH_ERR_INVALID_ARGUMENT";
    case VKGRAPH_ERR_INVALID_HANDLE:
      return "VKGRAPH_ERR_INVALID_HANDLE";
    case VKGRAPH_ERR_FILE:
      return "VKGRAPH_ERR_FILE";
    case VKGRAPH_ERR_MODEL:
      return "VKGRAPH_ERR_MODEL";
    case VKGRAPH_ERR_DEVICE:
      return "VKGRAPH_ERR_DEVICE";
    case VKGRAPH_ERR_CONTEXT_FULL:
      return "VKGRAPH_ERR_CONTEXT_FULL";
    case VKGRAPH_ERR_CANCELLED:
      return "VKGRAPH_ERR_CANCELLED";
    case VKGRAPH_ERR_UNSUPPORTED:
      return "VKGRAPH_ERR_UNSUPPORTED";
    case VKGRAPH_ERR_OUT_OF_MEMORY:
      return "VKGRAPH_ERR_OUT_OF_MEMORY";
    case VKGRAPH_ERR_INTERNAL:
      return "VKGRAPH_ERR_INTERNAL";
    case VKGRAPH_ERR_NETWORK:
      return "VKGRAPH_ERR_NETWORK";
    case VKGRAPH_ERR_NOT_FOUND:
      return "VKGRAPH_ERR_NOT_FOUND";
    case VKGRAPH_ERR_ACCESS:
      return "VKGRAPH_ERR_ACCESS";
  }
  return "unknown status";
}

}  // extern "C"
