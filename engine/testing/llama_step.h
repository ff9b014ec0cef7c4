#pragma once
// One transformer step of a llama-shaped model with given dimensions, for planning, tests and
// benchmarks that need the real op mix without a model file. Weights and caches are made on the
// given backend and zero-filled (the plan does not depend on their values).

#include <cstdint>

#include "engine/backend/backend.h"
#include "engine/graph/graph.h"

namespace vkgraph::testing {

struct LlamaDims {
  int64_t n_vocab = 32000;
  int64_t n_embd = 512;
  int64_t n_head = 8;
  int64_t n_kv_head = 4;
  int64_t head_dim = 64;
  int64_t n_ff = 1376;
  int64_t n_layer = 4;
  int64_t n_tokens = 1;  // tokens in this step
  int64_t n_kv = 256;    // cache slots
  DType weight_type = DType::Q8_0;
  DType kv_type = DType::F16;
  float rms_eps = 1e-5f;
  RopeParams rope{RopeMode::normal, 64, 10000.0f, 1.0f};
  int32_t window = 0;
};

struct LlamaStep {
  Graph graph;
  TensorId tokens;     // [n_tokens] i32
  TensorId positions;  // [n_tokens] i32
  TensorId slots;      // [n_tokens] i32
  TensorId kv_pos;     // [n_kv] i32
  TensorId logits;     // [1, n_vocab] f32 (last token), output
  TensorId next;       // [1] i32 argmax of the logits, output
};

LlamaStep build_llama_step(const LlamaDims& dims, Backend& backend);

}  // namespace vkgraph::testing
