# RMS norm, alone or fused with its weight multiply (saves a round trip through memory).
vkgraph_shader(NAME norm/rms_norm_f32 SOURCE rms_norm.comp)
vkgraph_shader(NAME norm/rms_norm_mul_f32 SOURCE rms_norm.comp DEFINES FUSE_MUL=1)
