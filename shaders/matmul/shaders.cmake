# Matrix products per weight type (the vk_matmul types of engine/core/weight_types.def) and
# activation type (f32/f16):
# - matvec: decode, shared-memory reduction (portable: no subgroup operations);
# - rows: row-parallel with subgroup-shuffle reduction, decode and CPU-class prefill (also
#   matmul_add, matmul_cat and matmul_swiglu: ADD, CAT, SWIGLU);
# - rows_tokens: CPU-class prefill, a register tile of rows x tokens per invocation;
# - tiled: prefill, shared-memory tiles.
# The kernel table picks among them and sets their tiles through specialization constants.
vkgraph_weight_types_with(matmul_types vk_matmul)
foreach(w IN LISTS matmul_types)
  set(wl ${VKGRAPH_TYPE_${w}_NAME})
  foreach(x f32 f16)
    if(x STREQUAL "f16")
      set(xdef X_F16=1)
    else()
      set(xdef)
    endif()
    vkgraph_shader(NAME matmul/matvec_${wl}_${x} SOURCE matvec.comp PUSH MatmulPush DEFINES W_${w}=1 ${xdef})
    vkgraph_shader(NAME matmul/rows_${wl}_${x} SOURCE matvec_rows.comp PUSH MatmulPush DEFINES W_${w}=1 ${xdef})
    vkgraph_shader(NAME matmul/tiled_${wl}_${x} SOURCE matmul_tiled.comp PUSH MatmulPush DEFINES W_${w}=1 ${xdef})
    # CPU-class prefill: a register tile of rows x tokens per invocation.
    vkgraph_shader(NAME matmul/rows_tokens_${wl}_${x} SOURCE matmul_rows_tokens.comp PUSH MatmulPush DEFINES W_${w}=1 ${xdef})
    # matmul_add (one token): the mat-vecs with a residual added in the store (ADD).
    vkgraph_shader(NAME matmul/matvec_add_${wl}_${x} SOURCE matvec.comp PUSH MatmulAddPush DEFINES W_${w}=1 ${xdef} ADD=1)
    vkgraph_shader(NAME matmul/rows_add_${wl}_${x} SOURCE matvec_rows.comp PUSH MatmulAddPush DEFINES W_${w}=1 ${xdef} ADD=1)
    # matmul_cat and matmul_swiglu (one token): several matrices of one x in one dispatch.
    vkgraph_shader(NAME matmul/rows_cat_${wl}_${x} SOURCE matvec_rows.comp PUSH MatmulGroupPush DEFINES W_${w}=1 ${xdef} CAT=1)
    vkgraph_shader(NAME matmul/rows_swiglu_${wl}_${x} SOURCE matvec_rows.comp PUSH MatmulGroupPush DEFINES W_${w}=1 ${xdef} SWIGLU=1)
    vkgraph_shader(NAME matmul/matvec_cat_${wl}_${x} SOURCE matvec.comp PUSH MatmulGroupPush DEFINES W_${w}=1 ${xdef} CAT=1)
    vkgraph_shader(NAME matmul/matvec_swiglu_${wl}_${x} SOURCE matvec.comp PUSH MatmulGroupPush DEFINES W_${w}=1 ${xdef} SWIGLU=1)
  endforeach()
endforeach()
# matmul_add whose dispatch also normalizes its result (NORM: the rms_norm_mul after it, on
# CPU-class devices; f32 activations, as a model's residual stream is).
foreach(w IN LISTS matmul_types)
  set(wl ${VKGRAPH_TYPE_${w}_NAME})
  vkgraph_shader(NAME matmul/rows_add_norm_${wl}_f32 SOURCE matvec_rows.comp PUSH MatmulAddNormPush DEFINES W_${w}=1 ADD=1 NORM=1)
endforeach()
# matmul_cat whose dispatch also performs the rope of its q and k heads and that rope's KV-cache
# writes (ROPE, one token, f16 caches, CPU-class devices: engine/backend/vulkan/lowering_cat_rope.cpp).
foreach(w IN LISTS matmul_types)
  set(wl ${VKGRAPH_TYPE_${w}_NAME})
  vkgraph_shader(NAME matmul/rows_cat_rope_${wl}_f32 SOURCE matvec_rows.comp PUSH MatmulCatRopePush DEFINES W_${w}=1 CAT=1 ROPE=1)
endforeach()
# Low-rank tails (LoRA adapters, one token, f32 activations): the row kernel of each form with
# TAIL ...
foreach(w IN LISTS matmul_types)
  set(wl ${VKGRAPH_TYPE_${w}_NAME})
  vkgraph_shader(NAME matmul/rows_tail_${wl}_f32 SOURCE matvec_rows.comp PUSH MatmulTailPush DEFINES W_${w}=1 TAIL=1)
  vkgraph_shader(NAME matmul/rows_add_tail_${wl}_f32 SOURCE matvec_rows.comp PUSH MatmulAddTailPush DEFINES W_${w}=1 ADD=1 TAIL=1)
  vkgraph_shader(NAME matmul/rows_cat_tail_${wl}_f32 SOURCE matvec_rows.comp PUSH MatmulGroupTailPush DEFINES W_${w}=1 CAT=1 TAIL=1)
  vkgraph_shader(NAME matmul/rows_swiglu_tail_${wl}_f32 SOURCE matvec_rows.comp PUSH MatmulGroupTailPush DEFINES W_${w}=1 SWIGLU=1 TAIL=1)
  # ... and the shared-memory mat-vec's, for devices without subgroup shuffles.
  vkgraph_shader(NAME matmul/matvec_tail_${wl}_f32 SOURCE matvec.comp PUSH MatmulTailPush DEFINES W_${w}=1 TAIL=1)
  vkgraph_shader(NAME matmul/matvec_add_tail_${wl}_f32 SOURCE matvec.comp PUSH MatmulAddTailPush DEFINES W_${w}=1 ADD=1 TAIL=1)
  vkgraph_shader(NAME matmul/matvec_cat_tail_${wl}_f32 SOURCE matvec.comp PUSH MatmulGroupTailPush DEFINES W_${w}=1 CAT=1 TAIL=1)
  vkgraph_shader(NAME matmul/matvec_swiglu_tail_${wl}_f32 SOURCE matvec.comp PUSH MatmulGroupTailPush DEFINES W_${w}=1 SWIGLU=1 TAIL=1)
endforeach()
# Integer-dot-product mat-vec (activations quantized to int8 per block in the kernel): vk_dot8.
vkgraph_weight_types_with(dot8_types vk_dot8)
foreach(w IN LISTS dot8_types)
  set(wl ${VKGRAPH_TYPE_${w}_NAME})
  vkgraph_shader(NAME matmul/dot8_${wl}_f32 SOURCE matvec_dot8.comp PUSH MatmulPush DEFINES W_${w}=1)
  vkgraph_shader(NAME matmul/dot8_${wl}_f16 SOURCE matvec_dot8.comp PUSH MatmulPush DEFINES W_${w}=1 X_F16=1)
endforeach()
# Cooperative-matrix mat-mat (prefill) at the device's f16 shape; weights dequantized to f16 in
# shared memory. Compiled and validated here; selected only on devices listing a shape:
# vk_coopmat. coopmat_emu_*: the same source over the emulation (VKGRAPH_EMULATE_COOPMAT).
vkgraph_weight_types_with(coopmat_types vk_coopmat)
foreach(w IN LISTS coopmat_types)
  set(wl ${VKGRAPH_TYPE_${w}_NAME})
  vkgraph_shader(NAME matmul/coopmat_${wl}_f32 SOURCE matmul_coopmat.comp PUSH MatmulPush DEFINES W_${w}=1 COOPMAT)
  vkgraph_shader(NAME matmul/coopmat_${wl}_f16 SOURCE matmul_coopmat.comp PUSH MatmulPush DEFINES W_${w}=1 X_F16=1 COOPMAT)
  vkgraph_shader(NAME matmul/coopmat_emu_${wl}_f32 SOURCE matmul_coopmat.comp PUSH MatmulPush DEFINES W_${w}=1 COOPMAT_EMULATED)
  vkgraph_shader(NAME matmul/coopmat_emu_${wl}_f16 SOURCE matmul_coopmat.comp PUSH MatmulPush DEFINES W_${w}=1 X_F16=1 COOPMAT_EMULATED)
endforeach()
