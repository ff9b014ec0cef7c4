#pragma once
// The blocks every architecture's step builder (models/arch/<family>.cpp) is made of: the step's
// inputs and token embeddings, norms, projections, the attention block (RoPE, the KV cache write
// and attention) and the SwiGLU feed-forward block, and the output head. A builder strings them
// together in its family's order; what differs between families lives in the builder, not in
// flags here.

#include <span>

#include "engine/graph/graph.h"
#include "models/arch/hparams.h"
#include "models/arch/kv_storage.h"
#include "models/arch/projection.h"
#include "models/arch/step_graph.h"
#include "models/arch/weights.h"

namespace vkgraph::models::arch {

// What the blocks of one step share: the graph being built, the step's inputs and the LoRA
// adapters applied to its projections.
struct StepBuilder {
  StepBuilder(const Hparams& hp, const ModelWeights& weights, const KvStorage& kv, const StepShape& shape,
              std::span<const AdapterUse> lora);

  const Hparams& hp;
  const ModelWeights& w;
  const KvStorage& kv;
  const StepShape& shape;
  std::span<const AdapterUse> lora;  // applied by project() to every matrix they adapt
  StepGraph step;  // step.graph and its inputs: tokens, positions, slots, then kv_pos or (paged) the block table
  Graph& g;        // step.graph
  int64_t m;       // tokens in the step
  // The file's RoPE frequency factors (Llama 3.1's rope_freqs, or the LongRoPE set this step's
  // context calls for), or none.
  TensorId rope_factors;

  // The batched serving engine's paged cache (StepShape::paged_block_size).
  bool paged() const { return shape.paged_block_size > 0; }
  TensorId weight(const WeightTensor& t);
  // rope_freqs when the file has it; else LongRoPE's long set when the context (what one
  // sequence may fill) is longer than Hparams::rope_original_context, its short set otherwise.
  TensorId rope_factors_for_context();
  // The token embeddings of the step's tokens: [m, n_embd].
  TensorId embeddings();
  // RMSNorm of x's rows times `w`.
  TensorId norm(TensorId x, const WeightTensor& weight_of_norm);
  // x: [m, n_heads * head_dim] -> RMSNorm over each head, times w [head_dim] (Qwen3's q/k norm).
  TensorId head_norm(TensorId x, const WeightTensor& weight_of_norm, int64_t n_heads);
  // w x (+ bias): every projection of every builder goes through here, so the step's LoRA
  // adapters reach every family (models::project, models/arch/projection.h; the bias is added
  // after the adapters' tails, as llama.cpp does).
  TensorId project(const WeightTensor& matrix, TensorId x, const WeightTensor* bias = nullptr);
  // Layer il's attention over q [m, n_head * d], k and v [m, n_head_kv * d] (projected, biased
  // and normed as the family wants, not yet rotated): RoPE (q, and k unless the ring rotates
  // keys as attention reads them), the cache write and attention with `params` (its key rotation
  // and window filled in here): paged_attention over the block table when the step is paged
  // (StepShape::paged_block_size), attention otherwise. Returns [m, n_head * d], before the
  // output projection.
  TensorId attention(int64_t il, TensorId q, TensorId k, TensorId v, const RopeParams& rope, AttentionParams params);
  // SwiGLU: down(silu(gate x) * up x).
  TensorId swiglu_ffn(const WeightTensor& gate, const WeightTensor& up, const WeightTensor& down, TensorId x);
  // GeGLU: down(gelu(gate x) * up x), GELU in its tanh form (Gemma).
  TensorId geglu_ffn(const WeightTensor& gate, const WeightTensor& up, const WeightTensor& down, TensorId x);
  // The output head: the last row only unless every row is wanted (paged: the rows logit_rows
  // names), the output norm and the output projection, soft-capped when the file says
  // (hp.final_softcap), or the hidden states, for embeddings. Returns the finished step.
  StepGraph finish(TensorId x);
};

}  // namespace vkgraph::models::arch
