#include "models/arch/step_graph.h"

#include "engine/core/error.h"
#include "models/arch/builders.h"

namespace vkgraph::models {

StepGraph build_step_graph(const Hparams& hp, const ModelWeights& w, const KvStorage& kv, const StepShape& shape,
                           std::span<const AdapterUse> lora) {
  using Builder = StepGraph (*)(const Hparams&, const ModelWeights&, const KvStorage&, const StepShape&,
                                std::span<const AdapterUse>);
  struct Family {
    const char* arch;
    Builder build;
  };
  // Each architecture read_hparams accepts has its builder here.
  static constexpr Family kFamilies[] = {
      {"llama", arch::build_llama_step},
      {"mistral", arch::build_llama_step},
      {"qwen2", arch::build_qwen2_step},
      {"qwen3", arch::build_qwen3_step},
      // Phi-3's fused attn_qkv and gate+up arrive split into plain projections (the model
      // loader uploads their row ranges apart); its blocks are then llama's, with the NeoX
      // layout of the rotation (hp.rope) and partial rotary from the file.
      {"phi3", arch::build_llama_step},
      {"gemma2", arch::build_gemma_step},
      {"gemma3", arch::build_gemma_step},
  };
  for (const Family& f : kFamilies) {
    if (hp.arch == f.arch) return f.build(hp, w, kv, shape, lora);
  }
  fail("architecture '{}' has no step builder", hp.arch);
}

}  // namespace vkgraph::models
