# Attention kernels, per K/V cache type:
#   attention_kv_*: one workgroup per (query row, head); decode (one query row).
#   tiled_kv_*: FlashAttention-2 style tiles for prefill, portable shared-memory products.
#   tiled_coopmat_kv_*: the same kernel with cooperative-matrix products (COOPMAT variants).
vkgraph_shader(NAME attention/attention_kv_f32 SOURCE attention.comp)
vkgraph_shader(NAME attention/attention_kv_f16 SOURCE attention.comp DEFINES KV_F16=1)
vkgraph_shader(NAME attention/tiled_kv_f32 SOURCE attention_tiled.comp)
vkgraph_shader(NAME attention/tiled_kv_f16 SOURCE attention_tiled.comp DEFINES KV_F16=1)
vkgraph_shader(NAME attention/tiled_coopmat_kv_f32 SOURCE attention_tiled.comp COOPMAT)
vkgraph_shader(NAME attention/tiled_coopmat_kv_f16 SOURCE attention_tiled.comp DEFINES KV_F16=1 COOPMAT)
# Split-K decode (flash-decoding): split_kv_* computes per-chunk partials (or, with one chunk,
# the output), split_reduce combines them.
vkgraph_shader(NAME attention/split_kv_f32 SOURCE attention_split.comp)
vkgraph_shader(NAME attention/split_kv_f16 SOURCE attention_split.comp DEFINES KV_F16=1)
vkgraph_shader(NAME attention/split_reduce SOURCE attention_reduce.comp)
