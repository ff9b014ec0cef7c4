vkgraph_shader(NAME rope/rope_normal_f32 SOURCE rope.comp PUSH RopePush)
vkgraph_shader(NAME rope/rope_neox_f32 SOURCE rope.comp PUSH RopePush DEFINES MODE_NEOX=1)
