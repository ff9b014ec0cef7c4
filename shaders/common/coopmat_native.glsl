// The cooperative-matrix vocabulary of coopmat.glsl on GL_KHR_cooperative_matrix.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require

#define CM_A coopmat<float16_t, gl_ScopeSubgroup, CM_M, CM_K, gl_MatrixUseA>
#define CM_B coopmat<float16_t, gl_ScopeSubgroup, CM_K, CM_N, gl_MatrixUseB>
#define CM_ACC coopmat<float, gl_ScopeSubgroup, CM_M, CM_N, gl_MatrixUseAccumulator>
#define CM_ACC16 coopmat<float16_t, gl_ScopeSubgroup, CM_M, CM_N, gl_MatrixUseAccumulator>
#define CM_ROW_MAJOR gl_CooperativeMatrixLayoutRowMajor
#define CM_COL_MAJOR gl_CooperativeMatrixLayoutColumnMajor

#define cm_acc_fill(v) CM_ACC(v)
#define CM_LOAD_A(m, array, offset, stride, layout) coopMatLoad(m, array, offset, stride, layout)
#define CM_LOAD_B(m, array, offset, stride, layout) coopMatLoad(m, array, offset, stride, layout)
#define CM_LOAD_ACC(m, array, offset, stride, layout) coopMatLoad(m, array, offset, stride, layout)
#define CM_STORE_ACC(m, array, offset, stride, layout) coopMatStore(m, array, offset, stride, layout)
#define cm_mul_add(a, b, c) coopMatMulAdd(a, b, c)
#define cm_acc_length(m) uint((m).length())
#define CM_ELEM(m, i) (m)[i]
#define cm_acc_to_f16(m) CM_ACC16(m)
#define cm_acc_from_f16(m) CM_ACC(m)
