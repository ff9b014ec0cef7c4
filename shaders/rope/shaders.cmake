vkgraph_shader(NAME rope/rope_normal_f32 SOURCE rope.comp PUSH RopePush)
vkgraph_shader(NAME rope/rope_neox_f32 SOURCE rope.comp PUSH RopePush DEFINES MODE_NEOX=1)
# The rope with the KV-cache writes it absorbs (engine/backend/vulkan/lowering_rope_kv.cpp).
vkgraph_shader(NAME rope/rope_kv_normal_f32 SOURCE rope.comp PUSH RopeKvPush DEFINES ROPE_KV=1)
vkgraph_shader(NAME rope/rope_kv_neox_f32 SOURCE rope.comp PUSH RopeKvPush DEFINES ROPE_KV=1 MODE_NEOX=1)
vkgraph_shader(NAME rope/rope_kv_normal_f16 SOURCE rope.comp PUSH RopeKvPush DEFINES ROPE_KV=1 CACHE_F16=1)
vkgraph_shader(NAME rope/rope_kv_neox_f16 SOURCE rope.comp PUSH RopeKvPush DEFINES ROPE_KV=1 MODE_NEOX=1 CACHE_F16=1)
