#pragma once
// A matmul_add step and the rms_norm_mul of its result lowered to one dispatch
// (lowering_add_norm.cpp says when and why).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/push/matmul.h"
#include "engine/graph/plan.h"

namespace vkgraph::vk {

struct Dispatch;
struct LoweringInput;

struct AddNormAbsorption {
  std::vector<std::optional<size_t>> norm;  // per step: the rms_norm_mul step a matmul_add performs
  std::vector<int64_t> absorbed_by;         // per step: the matmul_add step that performs it, or -1
};

// Whether the device has the combined kernel for this matmul_add, the norm would run the
// one-subgroup row that kernel reproduces, and no test forces the separate rows.
using AddNormRowCheck = std::function<bool(TensorId matmul_add, TensorId norm)>;

AddNormAbsorption find_add_norm_absorption(const Plan& plan, const AddNormRowCheck& rows_allow);

// The kernel key of a matmul_add that performs the norm of its result.
KernelKey add_norm_key(const Graph& graph, const Node& matmul_add);

// Whether a norm row is the one-subgroup variant (norm/rms_norm.comp, SUBGROUP_SUM) whose
// arithmetic the combined kernel repeats.
bool is_one_subgroup_norm(const KernelRow& row);

// The combined dispatch's arrival counter, its scratch.
inline constexpr uint64_t kAddNormScratchBytes = 4;

// lower_matmul's last part for a matmul_add that performs in.norm_after: the norm's weight,
// result and the arrival counter bound after the row kernel's bindings, NORM_WIDTH and the push
// block (MatmulAddNormPush: `add` and the norm's fields).
void bind_norm_epilogue(Dispatch& d, const LoweringInput& in, const MatmulAddPush& add);

}  // namespace vkgraph::vk
