# Matrix products per weight type (F32/F16/Q8_0/Q4_0) and activation type (f32/f16):
# mat-vec for decode, tiled mat-mat for prefill. The kernel table picks among them.
foreach(w F32 F16 Q8_0 Q4_0)
  string(TOLOWER ${w} wl)
  vkgraph_shader(NAME matmul/matvec_${wl}_f32 SOURCE matvec.comp DEFINES W_${w}=1)
  vkgraph_shader(NAME matmul/matvec_${wl}_f16 SOURCE matvec.comp DEFINES W_${w}=1 X_F16=1)
  vkgraph_shader(NAME matmul/tiled_${wl}_f32 SOURCE matmul_tiled.comp DEFINES W_${w}=1)
  vkgraph_shader(NAME matmul/tiled_${wl}_f16 SOURCE matmul_tiled.comp DEFINES W_${w}=1 X_F16=1)
endforeach()
