#pragma once
// The CPU reference implementation of every op. Each function takes the node (shape, dtype,
// params), its input nodes and their bytes, and writes the node's result to `out`.
// Accumulations run in double: this is the ground truth, not a fast path.

#include <cstddef>
#include <vector>

#include "engine/graph/graph.h"

namespace vkgraph::cpu {

struct OpArgs {
  const Node& node;
  std::vector<const Node*> in;        // input nodes, in the order of node.inputs
  std::vector<const std::byte*> src;  // their bytes
  std::byte* out;                     // the node's bytes (for kv_write: the cache itself)
};

// Runs one node; throws Error for an op the CPU cannot run (a leaf or view: no work).
void run_op(const OpArgs& args);

// The score of a visible key in attention and paged_attention: scale * q.k, soft-capped to
// softcap * tanh(s / softcap) when the params ask for it (graph.h).
double attention_score(double dot, const AttentionParams& params);

// cpu_ops_elementwise.cpp
void op_rms_norm(const OpArgs& a);
void op_rms_norm_mul(const OpArgs& a);
void op_binary(const OpArgs& a);  // mul, add
void op_scale(const OpArgs& a);
void op_silu(const OpArgs& a);
void op_gelu(const OpArgs& a);
void op_softcap(const OpArgs& a);
void op_swiglu(const OpArgs& a);
void op_softmax(const OpArgs& a);
void op_argmax(const OpArgs& a);
void op_convert(const OpArgs& a);

// cpu_ops_matmul.cpp
void op_matmul(const OpArgs& a);  // matmul, matmul_add
void op_matmul_cat(const OpArgs& a);
void op_matmul_swiglu(const OpArgs& a);
void op_get_rows(const OpArgs& a);

// cpu_ops_attention.cpp
void op_rope(const OpArgs& a);
void op_attention(const OpArgs& a);
void op_kv_write(const OpArgs& a);

// cpu_ops_paged.cpp
void op_paged_attention(const OpArgs& a);

}  // namespace vkgraph::cpu
