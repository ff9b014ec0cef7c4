#pragma once
// The body of vkgraph::api::guarded (included from handles.h).

#include <exception>
#include <new>

#include "engine/core/error.h"

namespace vkgraph::api {

template <typename Body>
vkgraph_status guarded(vkgraph_status fallback, Body&& body) noexcept {
  try {
    try {
      clear_last_error();
      body();
      return VKGRAPH_OK;
    } catch (const ApiError& e) {
      set_last_error(e.message);
      return e.status;
    } catch (const std::bad_alloc&) {
      set_last_error("out of memory");
      return VKGRAPH_ERR_OUT_OF_MEMORY;
    } catch (const Error& e) {
      set_last_error(e.what());
      return fallback;
    } catch (const std::exception& e) {
      set_last_error(std::string("internal error: ") + e.what());
      return VKGRAPH_ERR_INTERNAL;
    } catch (...) {
      set_last_error("internal error: unknown exception");
      return VKGRAPH_ERR_INTERNAL;
    }
  } catch (...) {  // setting the message itself failed (no memory for it)
    return VKGRAPH_ERR_OUT_OF_MEMORY;
  }
}

}  // namespace vkgraph::api
