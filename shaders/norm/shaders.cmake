# RMS norm, alone or fused with its weight multiply (saves a round trip through memory).
vkgraph_shader(NAME norm/rms_norm_f32 SOURCE rms_norm.comp PUSH NormPush)
vkgraph_shader(NAME norm/rms_norm_mul_f32 SOURCE rms_norm.comp PUSH NormPush DEFINES FUSE_MUL=1)
# The same with a workgroup of one subgroup summing with subgroupAdd (CPU-class devices).
vkgraph_shader(NAME norm/rms_norm_subgroup_f32 SOURCE rms_norm.comp PUSH NormPush DEFINES SUBGROUP_SUM=1)
vkgraph_shader(NAME norm/rms_norm_mul_subgroup_f32 SOURCE rms_norm.comp PUSH NormPush DEFINES FUSE_MUL=1 SUBGROUP_SUM=1)
# The fused norm of one token with LoRA adapters' low-rank products around it.
vkgraph_shader(NAME norm/rms_norm_low_rank_f32 SOURCE rms_norm_low_rank.comp PUSH NormLowRankPush)
