# The first attention kernel (one workgroup per query row and head), per K/V cache type.
vkgraph_shader(NAME attention/attention_kv_f32 SOURCE attention.comp)
vkgraph_shader(NAME attention/attention_kv_f16 SOURCE attention.comp DEFINES KV_F16=1)
