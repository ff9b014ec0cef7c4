#pragma once
// A Plan: a graph after the passes (fusion, memory planning, dispatch ordering), ready for a
// backend to turn into an Executable. Built once for a fixed step shape, executed many times.
//
// What a backend needs to know:
// - steps() lists the ops to run, in order. Leaves and views are never steps (a view is an
//   offset into its base). Nodes that no output or state write depends on are dropped, and so
//   are nodes a fusion made dead (their op is left as is but nothing schedules them).
// - Every node that a step touches has a Location. A view's location names its base (the node
//   owning the bytes, itself never a view) and the byte offset into it. kv_write's result aliases
//   the state it writes (placement storage, base = the state leaf).
// - An output that would alias something else (a view, a kv_write) is materialized: Plan::build
//   turns the marked node into a same-dtype convert (a copy) of a new view node, so every output
//   owns its buffer and keeps its TensorId.
// - A step's result never shares arena bytes with its inputs (no in-place ops).
// - barrier_before on a step means: every earlier step's writes must be visible to this step
//   (and its writes must not overtake earlier reads). It is set only where a dependency exists.

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
const char* placement_name(Placement placement);

struct Location {
  Placement placement = Placement::arena;
  // Bytes into the arena, or into the base's storage/buffer. Arena tensors start at multiples of
  // PlanOptions::arena_alignment, but a view's offset can be any multiple of its element size.
  size_t offset = 0;
  size_t bytes = 0;
  TensorId base;  // the node that owns the bytes (itself unless it is a view or kv_write)
};

struct Step {
  TensorId node;                // the op to run; its inputs are node(node).inputs
  bool barrier_before = false;  // a dependency on an earlier step that has not been waited for
};

// Estimated memory traffic of one step (for `vkgraph plan` and bandwidth figures).
struct StepTraffic {
  size_t bytes_read = 0;
  size_t bytes_written = 0;
};

struct PlanOptions {
  // The fusion pass (passes.h: fuse): rms_norm * w -> rms_norm_mul, silu(g) * u -> swiglu, and for
  // one token matmul + r -> matmul_add, swiglu of two matmuls -> matmul_swiglu, matmuls of one x
  // -> matmul_cat, the ropes of q and k -> one rope.
  bool fuse = true;
  // The fused ops the executing backend has (Backend::fused_ops; its plan_options() sets this):
  // fusion makes only these. The default, every fused op, suits backends that run them all.
  std::vector<OpKind> fused_ops = fused_op_kinds();
  size_t arena_alignment = 256;  // covers minStorageBufferOffsetAlignment of every known device
};

class Plan {
 public:
  static Plan build(Graph graph, const PlanOptions& options = {});

  const Graph& graph() const { return graph_; }
  const std::vector<Step>& steps() const { return steps_; }
  // Defined for every node a step reads or writes and for every leaf; throws for a dead node.
  const Location& location(TensorId id) const;
  bool has_location(TensorId id) const;
  size_t arena_bytes() const { return arena_bytes_; }         // peak of the arena
  size_t intermediate_bytes() const { return naive_bytes_; }  // sum of intermediates, unshared
  size_t barrier_count() const;
  const std::vector<TensorId>& inputs() const { return inputs_; }    // kind input leaves
  const std::vector<TensorId>& outputs() const { return outputs_; }  // marked outputs
  StepTraffic traffic(const Step& step) const;
  // The nodes a step reads (bytes, via their locations) and writes: used by the ordering pass and
  // by backends that need the bindings of a step. kv_write reads src and slots, writes the cache.
  std::vector<TensorId> step_reads(const Step& step) const;
  TensorId step_write(const Step& step) const;
  // A readable listing: every step with its op, shapes and location, and the arena's peak.
  std::string describe() const;

 private:
  Graph graph_;
  std::vector<Step> steps_;
  std::vector<Location> locations_;
  std::vector<bool> located_;
  std::vector<TensorId> inputs_, outputs_;
  size_t arena_bytes_ = 0;
  size_t naive_bytes_ = 0;
  friend class PlanBuilder;
};

}  // namespace vkgraph
