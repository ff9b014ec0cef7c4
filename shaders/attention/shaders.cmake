# Attention kernels, per K/V cache type. Visibility, key rotation and the online softmax are
# written once (common.glsl), the push constants once (params.glsl).
#   split_kv_*: decode (one query row), split-K over the cache ("flash-decoding"); one chunk
#     writes the output itself, several write partials that split_reduce combines. Keys staged
#     through shared memory for coalesced reads (STAGED_KEYS); split_direct_kv_*: each slot's
#     owner reads its key itself, for CPU-class devices.
#   tiled_kv_*: FlashAttention-2 style tiles for prefill, portable shared-memory products.
#   rows_kv_*: prefill for CPU-class devices, a query row per invocation, no shared memory.
#   tiled_coopmat_kv_*: the same kernel with cooperative-matrix products (COOPMAT variants);
#   tiled_coopmat_emu_kv_*: ... over the emulation (COOPMAT_EMULATED).
vkgraph_shader(NAME attention/split_kv_f32 SOURCE attention_split.comp PUSH AttentionSplitPush DEFINES STAGED_KEYS=1)
vkgraph_shader(NAME attention/split_kv_f16 SOURCE attention_split.comp PUSH AttentionSplitPush DEFINES KV_F16=1 STAGED_KEYS=1)
vkgraph_shader(NAME attention/split_direct_kv_f32 SOURCE attention_split.comp PUSH AttentionSplitPush)
vkgraph_shader(NAME attention/split_direct_kv_f16 SOURCE attention_split.comp PUSH AttentionSplitPush DEFINES KV_F16=1)
vkgraph_shader(NAME attention/split_reduce SOURCE attention_reduce.comp PUSH AttentionReducePush)
vkgraph_shader(NAME attention/rows_kv_f32 SOURCE attention_rows.comp PUSH AttentionPush)
vkgraph_shader(NAME attention/rows_kv_f16 SOURCE attention_rows.comp PUSH AttentionPush DEFINES KV_F16=1)
vkgraph_shader(NAME attention/tiled_kv_f32 SOURCE attention_tiled.comp PUSH AttentionPush)
vkgraph_shader(NAME attention/tiled_kv_f16 SOURCE attention_tiled.comp PUSH AttentionPush DEFINES KV_F16=1)
vkgraph_shader(NAME attention/tiled_coopmat_kv_f32 SOURCE attention_tiled.comp PUSH AttentionPush COOPMAT)
vkgraph_shader(NAME attention/tiled_coopmat_kv_f16 SOURCE attention_tiled.comp PUSH AttentionPush DEFINES KV_F16=1 COOPMAT)
# ... over the cooperative-matrix emulation (VKGRAPH_EMULATE_COOPMAT: CI runs them on lavapipe).
vkgraph_shader(NAME attention/tiled_coopmat_emu_kv_f32 SOURCE attention_tiled.comp PUSH AttentionPush COOPMAT_EMULATED)
vkgraph_shader(NAME attention/tiled_coopmat_emu_kv_f16 SOURCE attention_tiled.comp PUSH AttentionPush DEFINES KV_F16=1 COOPMAT_EMULATED)
# The batched engine's paged cache: every query of a step, tiles read through the block table,
# split over key chunks on GPUs (partials combined by split_reduce).
vkgraph_shader(NAME attention/paged_kv_f32 SOURCE paged_attention.comp PUSH PagedAttentionPush)
vkgraph_shader(NAME attention/paged_kv_f16 SOURCE paged_attention.comp PUSH PagedAttentionPush DEFINES KV_F16=1)
# ... and on CPU-class devices: the split kernel's direct variant, each row in workgroups of its
# own, positions read through the block table.
vkgraph_shader(NAME attention/paged_direct_kv_f32 SOURCE attention_split.comp PUSH PagedAttentionPush DEFINES PAGED_ATTENTION=1)
vkgraph_shader(NAME attention/paged_direct_kv_f16 SOURCE attention_split.comp PUSH PagedAttentionPush DEFINES KV_F16=1 PAGED_ATTENTION=1)
