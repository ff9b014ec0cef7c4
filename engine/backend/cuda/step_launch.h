#pragma once
// One plan step as kernel launches: the op's node, its inputs and their device addresses are
// mapped onto the launch functions of kernels.h (the CUDA counterpart of Vulkan's lowering).

#include <cstddef>
#include <string>
#include <vector>

#include "engine/backend/cuda/kernels.h"
#include "engine/graph/graph.h"

namespace vkgraph::cuda {

struct StepLaunch {
  const Node& node;
  std::vector<const Node*> in;   // input nodes, in the order of node.inputs
  std::vector<std::byte*> src;   // their device addresses
  std::byte* out = nullptr;      // the node's device address (kv_write: the cache)
  std::byte* scratch = nullptr;  // step_scratch_bytes() of device memory
  Launch launch;
};

// Device scratch a step needs besides its output: the rotated keys of attention with
// rotate_keys ([n_slots, n_kv_head, head_dim] f32); 0 for every other step.
size_t step_scratch_bytes(const Node& node, const std::vector<const Node*>& in);

// Checks what the kernels cannot take (head_dim over kMaxAttentionHeadDim) and names the node.
void check_step(const Node& node, const std::vector<const Node*>& in);

// The kernel a step runs, for profiles and `vkgraph plan --backend cuda` ("matmul_q4_0_f32").
std::string step_kernel(const Node& node, const std::vector<const Node*>& in);

// Enqueues the step's kernels on s.launch.stream.
void launch_step(const StepLaunch& s);

}  // namespace vkgraph::cuda
