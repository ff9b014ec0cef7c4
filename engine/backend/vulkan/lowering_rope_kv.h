#pragma once
// A rope step and the kv_write steps beside it lowered to one dispatch (lowering_rope_kv.cpp
// says when and why).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/push/elementwise.h"
#include "engine/graph/plan.h"

namespace vkgraph::vk {

struct Dispatch;
struct LoweringInput;

// The kv_write steps (indices into Plan::steps) a rope step's dispatch performs.
struct RopeKvWrites {
  static constexpr size_t kMaxCopied = 2;
  std::optional<size_t> from_result;  // a later step writing part of the rope's result: rotated keys
  std::vector<size_t> copied;         // steps of the rope's barrier group: values (and, in the KV
                                      // ring, whose keys attention rotates, the keys) copied
  bool any() const { return from_result || !copied.empty(); }
  size_t first() const { return from_result ? *from_result : copied.front(); }  // any() only
};

struct RopeKvAbsorption {
  std::vector<RopeKvWrites> writes;  // per step; empty but for the ropes that absorb
  std::vector<int64_t> absorbed_by;  // per step: the rope step that performs it, or -1
};

// Whether the device has the combined kernel for this rope (and cache type) and no test forces
// the separate kernels: called with the rope's node, the caches' type and the candidate writes.
using RopeKvRowCheck = std::function<bool(TensorId rope, DType cache, const RopeKvWrites& writes)>;

RopeKvAbsorption find_rope_kv_absorption(const Plan& plan, const RopeKvRowCheck& rows_allow);

// The kernel key of a rope that absorbs writes into caches of type `cache`, and that type.
KernelKey rope_kv_key(const Node& rope, DType cache);
DType rope_kv_cache_type(const Plan& plan, const RopeKvWrites& writes);

// lowering_rope.cpp: the rope's bindings 0-3 (x, positions, result, factors) and push fields,
// shared by the plain rope and the combined kernel; and how many invocations the rope needs.
RopePush bind_rope(Dispatch& d, const LoweringInput& in);
uint64_t rope_invocations(const RopePush& p);

}  // namespace vkgraph::vk
