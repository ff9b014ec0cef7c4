#pragma once
// One step builder per architecture family (models/arch/<family>.cpp), each made of the shared
// blocks of blocks.h. build_step_graph (step_graph.cpp) picks the one of the file's architecture.

#include "models/arch/step_graph.h"

namespace vkgraph::models::arch {

// llama and mistral: pre-norm blocks, RoPE (normal layout), SwiGLU.
StepGraph build_llama_step(const Hparams& hp, const ModelWeights& w, const KvStorage& kv, const StepShape& shape,
                           std::span<const AdapterUse> lora);
// qwen2: llama's block with biases on the q, k and v projections and the NeoX RoPE layout.
StepGraph build_qwen2_step(const Hparams& hp, const ModelWeights& w, const KvStorage& kv, const StepShape& shape,
                           std::span<const AdapterUse> lora);
// qwen3: llama's block with per-head RMSNorm of q and k before RoPE (NeoX layout), no biases.
StepGraph build_qwen3_step(const Hparams& hp, const ModelWeights& w, const KvStorage& kv, const StepShape& shape,
                           std::span<const AdapterUse> lora);
// gemma2 and gemma3: scaled embeddings, pre- and post-norms around attention and the FFN,
// GeGLU, per-layer windows and RoPE bases, soft-caps (gemma.cpp).
StepGraph build_gemma_step(const Hparams& hp, const ModelWeights& w, const KvStorage& kv, const StepShape& shape,
                           std::span<const AdapterUse> lora);

}  // namespace vkgraph::models::arch
