#pragma once
// The passes that turn a Graph into a Plan, each in its own file. Internal to engine/graph:
// backends and callers use Plan::build.

#include <cstddef>
#include <vector>

#include "engine/graph/plan.h"

namespace vkgraph::passes {

// pass_outputs.cpp: an output that would alias other bytes (a view, a kv_write result) becomes a
// same-dtype convert of a fresh view node, so each output owns its buffer and keeps its id.
void materialize_outputs(Graph& graph);

// pass_fusion.cpp: mul(rms_norm(x), w[n]) -> rms_norm_mul(x, w), mul(silu(g), u) -> swiglu(g, u);
// for one token, add(matmul(w, x), scale(matmul(b, t), f)) -> matmul(w, x) with a low-rank tail
// (b, t, f) (OpParams::tails; b f16); for one token or decode rows (Graph::decode_rows),
// add(matmul(w, x), r) -> matmul_add(w, x, r) (r of the sum's shape), each only when the inner
// result has no other consumer and is not an output. The outer node is rewritten in place (its
// id stays valid); the inner node is left unused. Then, for one token or decode rows,
// swiglu(matmul(w_g, x), matmul(w_u, x)) -> matmul_swiglu(w_g, w_u, x); for one token, two or
// three remaining matmuls of one x with weights of one type and n_in -> one appended matmul_cat
// node, the matmuls becoming views of their ranges of it (tails go along, and a matmul is never
// grouped with one it reads); then two one-token ropes with one positions input and one set of
// parameters over neighbouring ranges of one tensor (q and k of a matmul_cat) -> one appended
// rope over the joined range, the two becoming views of it; last, LoRA adapters' A products into
// the RMSNorms around them (fold_low_rank_into_norms).
// Only fusions whose op is in `allowed` (the executing backend's fused ops) are made; the rope
// merge makes no new op and always applies. Returns the fusion count.
size_t fuse(Graph& graph, const std::vector<OpKind>& allowed);

// pass_low_rank_norm.cpp, the last step of fuse when rms_norm_low_rank is allowed: a one-token
// rms_norm_mul (rows a multiple of 4 long) takes in the A product of the tail of the matmul_add it
// normalizes (the delta moves there from the mat-vec) and a matmul or matmul_cat of at most 3 f16
// matrices of at most 64 rows reading its result; the replaced results become views of the
// appended rms_norm_low_rank.
size_t fold_low_rank_into_norms(Graph& graph);

// pass_schedule.cpp: which nodes a run needs (everything outputs and kv_writes depend on), and the
// op nodes to run in order (graph order is topological: inputs are always built first).
std::vector<bool> live_nodes(const Graph& graph);
std::vector<TensorId> schedule(const Graph& graph, const std::vector<bool>& live);

// The nodes a step reads and the node it writes (kv_write reads src and slots, writes the cache).
std::vector<TensorId> step_reads(const Graph& graph, TensorId step);
TensorId step_write(const Graph& graph, TensorId step);

// pass_memory.cpp: a Location for every live node; intermediates share one arena by liveness.
struct MemoryPlan {
  std::vector<Location> locations;  // by node index
  std::vector<bool> located;
  size_t arena_bytes = 0;  // peak
  size_t naive_bytes = 0;  // sum of the aligned sizes of the arena tensors
};
MemoryPlan plan_memory(const Graph& graph, const std::vector<bool>& live, const std::vector<TensorId>& order,
                       size_t alignment);

// pass_barriers.cpp: sets barrier_before where a step reads what an unwaited step wrote (RAW) or
// writes what an unwaited step read or wrote (WAR, WAW: arena reuse, state writes).
void place_barriers(const Graph& graph, const std::vector<Location>& locations, std::vector<Step>& steps);

}  // namespace vkgraph::passes
