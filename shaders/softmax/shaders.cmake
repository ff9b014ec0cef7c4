vkgraph_shader(NAME softmax/softmax_f32 SOURCE softmax.comp PUSH SoftmaxPush)
