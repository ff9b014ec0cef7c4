# The runtime's probe kernels: the first end-to-end kernel (vector add), and one
# cooperative-matrix kernel that proves COOPMAT variants are built, embedded and only selected
# on devices that report the extension and its shape.
vkgraph_shader(NAME probe/vector_add_f32 SOURCE vector_add.comp PUSH ProbeCountPush)
vkgraph_shader(NAME probe/coopmat_f16 SOURCE coopmat_tile.comp PUSH ProbeTilePush COOPMAT)
vkgraph_shader(NAME probe/coopmat_emu_f16 SOURCE coopmat_tile.comp PUSH ProbeTilePush COOPMAT_EMULATED)
# The copy that measures memory bandwidth for `vkgraph bench` (probe_kernels.h).
vkgraph_shader(NAME probe/copy_u32x4 SOURCE copy.comp PUSH ProbeCountPush)
