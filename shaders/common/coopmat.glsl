// Cooperative matrices for the kernels that use them (matmul_coopmat.comp, tile_coopmat.glsl,
// probe/coopmat_tile.comp): one vocabulary, two implementations chosen by the variant.
//   COOPMAT variants: GL_KHR_cooperative_matrix (coopmat_native.glsl), chosen only on devices
//       listing the shape; validated by spirv-val at build time.
//   COOPMAT_EMULATED variants (VKGRAPH_COOPMAT_EMULATED): the same operations over subgroup
//       operations and shared memory (coopmat_emulated.glsl), chosen only on a device told to
//       act as if it listed the shape (VKGRAPH_EMULATE_COOPMAT, device_coopmat.h), so the
//       kernels' tiling, strides, edge handling and f16 staging run on any Vulkan device.
// The kernel source is the same for both; only this vocabulary differs.
//
// The shape is the device's, not fixed: M, N, K (constant_id 10-12) come from the entry of
// vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR (or the emulated list) the host picked
// (device_coopmat_shape): each is 8 or 16, so every multiple of 16 a kernel tiles by is a
// multiple of them. Constants 13-14 are the emulation's (its scratch's subgroup count bound, and
// whether subgroups run in lockstep: coopmat_emulated.glsl), unused natively. Component types are fixed: A and B f16, C and the result f32, subgroup scope.
//
// Operations (A: CM_M x CM_K, B: CM_K x CM_N, C: CM_M x CM_N; `array` names a shared or buffer
// array, `offset` and `stride` count its elements, layout CM_ROW_MAJOR or CM_COL_MAJOR):
//   CM_A, CM_B, CM_ACC, CM_ACC16   the types (CM_ACC16: an f16 accumulator, for conversions)
//   cm_acc_fill(v)                 an accumulator with every element v
//   CM_LOAD_A/B/ACC(m, array, offset, stride, layout), CM_STORE_ACC(m, array, offset, stride, layout)
//   cm_mul_add(a, b, c)            a . b + c
//   cm_acc_length(m), CM_ELEM(m, i) this invocation's elements of m (which element of the matrix
//                                  each is, is the implementation's: only element-wise use is portable)
//   cm_acc_to_f16(m), cm_acc_from_f16(m)  component type conversions of an accumulator
// Every invocation of a subgroup executes each operation in uniform control flow.

layout(constant_id = 10) const uint CM_M = 16;
layout(constant_id = 11) const uint CM_N = 16;
layout(constant_id = 12) const uint CM_K = 16;
layout(constant_id = 13) const uint CM_SUBGROUPS = 1;

// The power of two to divide values of magnitude up to `largest` by so they stay finite in f16
// (the largest finite f16 is 65504): 1 when they already fit. Scaled values end at or under
// 16384, with a factor 2 of room for an inexact log2 on a GPU. NaN stays NaN and infinity
// infinity (the reference computes the same), so only finite values are guarded.
float f16_safe_scale(float largest) {
  if (!(largest > 16384.0) || isinf(largest)) return 1.0;
  return exp2(ceil(log2(largest / 16384.0)));
}

#if defined(VKGRAPH_COOPMAT_EMULATED)
#include "common/coopmat_emulated.glsl"
#else
#include "common/coopmat_native.glsl"
#endif
