#pragma once
// Storage that outlives a step: a weight uploaded once, or persistent state such as a KV cache.
// A backend creates it; the graph only refers to it, so the graph never sees a backend type.

#include <cstddef>

namespace vkgraph {

class Storage {
 public:
  virtual ~Storage() = default;
  virtual size_t bytes() const = 0;
  // Which backend made it ("cpu", "vulkan"): a plan binds only its own backend's storage.
  virtual const char* backend_name() const = 0;
};

}  // namespace vkgraph
