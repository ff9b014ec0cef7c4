#pragma once
// A Plan: a graph after the passes (fusion, memory planning, dispatch ordering), ready for a
// backend to turn into an Executable. Built once for a fixed step shape, executed many times.

#include <cstddef>
#include <string>
#include <vector>

#include "engine/graph/graph.h"

namespace vkgraph {

// Where a tensor's bytes live during a run.
enum class Placement : uint8_t {
  arena,    // intermediates: offset in the one arena shared by liveness
  input,    // per-run host data: its own small buffer
  output,   // read back after a run: its own buffer
  storage,  // weight or state: the node's Storage (of the node itself, or the view's base)
};

struct Location {
  Placement placement = Placement::arena;
  size_t offset = 0;  // bytes: into the arena, or into the base storage/buffer for views
  size_t bytes = 0;
  TensorId base;      // the node that owns the bytes (itself unless it is a view)
};

struct Step {
  TensorId node;               // the op to run; its inputs are node(node).inputs
  bool barrier_before = false; // a dependency on an earlier step that has not been waited for
};

struct PlanOptions {
  bool fuse = true;            // rms_norm*weight -> rms_norm_mul, silu*up -> swiglu
  size_t arena_alignment = 256;  // covers minStorageBufferOffsetAlignment of every known device
};

class Plan {
 public:
  static Plan build(Graph graph, const PlanOptions& options = {});

  const Graph& graph() const { return graph_; }
  const std::vector<Step>& steps() const { return steps_; }
  const Location& location(TensorId id) const { return locations_.at(size_t(id.index)); }
  size_t arena_bytes() const { return arena_bytes_; }          // peak of the arena
  size_t intermediate_bytes() const { return naive_bytes_; }  // sum of intermediates, unshared
  size_t barrier_count() const;
  // A readable listing: every step with its op, shapes and location, and the arena's peak.
  std::string describe() const;

 private:
  Graph graph_;
  std::vector<Step> steps_;
  std::vector<Location> locations_;
  size_t arena_bytes_ = 0;
  size_t naive_bytes_ = 0;
  friend class PlanBuilder;
};

}  // namespace vkgraph
