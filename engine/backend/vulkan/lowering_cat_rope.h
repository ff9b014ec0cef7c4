#pragma once
// A one-token matmul_cat step (q, k and v products) and the rope of its q and k heads, with the
// KV-cache writes that rope performs, lowered to one dispatch (lowering_cat_rope.cpp says when and
// why).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/lowering_rope_kv.h"
#include "engine/backend/vulkan/push/matmul.h"
#include "engine/graph/plan.h"

namespace vkgraph::vk {

struct Dispatch;
struct LoweringInput;

struct CatRopeAbsorption {
  std::vector<std::optional<size_t>> rope;  // per step: the rope step a matmul_cat performs
  std::vector<int64_t> absorbed_by;         // per step: the matmul_cat step that performs it, or -1
};

// Whether the device has the combined kernel for this matmul_cat, it launches as the cat's own
// row does, and no test forces the separate rows.
using CatRopeRowCheck = std::function<bool(TensorId cat, TensorId rope)>;

// `writes`: the kv_writes each rope performs (find_rope_kv_absorption); a rope moves into its
// product's dispatch together with them.
CatRopeAbsorption find_cat_rope_absorption(const Plan& plan, const RopeKvAbsorption& writes,
                                           const CatRopeRowCheck& rows_allow);

// The kernel key of a matmul_cat that performs the rope of its result.
KernelKey cat_rope_key(const Graph& graph, const Node& cat);

// The combined dispatch's arrival counter, its scratch.
inline constexpr uint64_t kCatRopeScratchBytes = 4;

// lower_matmul_group's last part for a matmul_cat that performs in.rope_after (and in.rope_kv,
// that rope's writes): the rope's positions, factors and result, the slots, the three caches and
// the arrival counter bound after the row kernel's bindings, ROPE_NEOX and the push block
// (MatmulCatRopePush: `group` and the rope's and writes' fields).
void bind_rope_epilogue(Dispatch& d, const LoweringInput& in, const MatmulGroupPush& group);

}  // namespace vkgraph::vk
