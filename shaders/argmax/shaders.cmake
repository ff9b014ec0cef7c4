vkgraph_shader(NAME argmax/argmax_f32 SOURCE argmax.comp PUSH ArgmaxPush)
