vkgraph_shader(NAME kv/kv_write_f32_f32 SOURCE kv_write.comp PUSH KvWritePush)
vkgraph_shader(NAME kv/kv_write_f32_f16 SOURCE kv_write.comp PUSH KvWritePush DEFINES CACHE_F16=1)
