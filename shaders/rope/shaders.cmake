vkgraph_shader(NAME rope/rope_normal_f32 SOURCE rope.comp)
vkgraph_shader(NAME rope/rope_neox_f32 SOURCE rope.comp DEFINES MODE_NEOX=1)
