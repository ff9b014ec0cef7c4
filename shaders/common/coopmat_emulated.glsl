// The cooperative-matrix vocabulary of coopmat.glsl, emulated over subgroup operations and
// shared memory, so the cooperative-matrix kernels execute on devices without the extension
// (lavapipe in CI). Nothing here is faster than the portable kernels: its purpose is that the
// kernels' own code (tiling, strides, edge handling, f16 staging, shapes from constants) runs
// and is compared with the CPU reference.
//
// Fragments, as a driver holds them: a matrix of R x C elements is spread over the subgroup's
// S invocations; invocation `lane` holds elements e = 0 .. ceil(R*C / S) - 1, element e being
// flat index f = e * S + lane of the matrix (past R*C: padding, never read). Which (row,
// column) f is differs per use, as it does on real drivers, so a kernel that assumed one
// layout across uses (or read elements by position) would fail here:
//   accumulators: row-major (f / N, f % N);
//   A (M x K): column-major (f % M, f / M): an invocation holds pieces of several rows;
//   B (K x N): row-major over its transpose, (k, j) = (f % K, f / K): pieces of columns.
// S is gl_SubgroupSize at run time (4 to 16 on CPU drivers); a fragment holds at most
// CM_MAX_FRAGMENT elements: 16 x 16 over 4 invocations. The host only picks the emulation for
// shapes and subgroup sizes inside that (device_coopmat.cpp).
//
// The product stages a subgroup's A and B in its slice of cm_scratch (shared memory, f16 as a
// native unit reads them) and each invocation accumulates its own elements of C in f32, in
// order of k, with the subgroup synchronized before (all fragments written) and after (all read
// before the next product overwrites them). CM_SUBGROUPS (constant 13) must be at least the
// workgroup's subgroup count: the host sets workgroup size / the device's smallest subgroup size.
//
// CM_LOCKSTEP (constant 14, set by the host for CPU drivers): the subgroup's invocations run as
// one SIMD vector, in program order, so a shared-memory barrier at subgroup scope orders the
// accesses. lavapipe needs it: its subgroupBarrier() acts on the whole workgroup and hangs or
// corrupts results when subgroups take different paths (the tile loops stride by subgroup).
// Elsewhere (0) every step takes subgroupBarrier() as the specification wants.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require

#define CM_MAX_FRAGMENT 64
#define CM_ROW_MAJOR 0
#define CM_COL_MAJOR 1

struct CmA { float16_t v[CM_MAX_FRAGMENT]; };
struct CmB { float16_t v[CM_MAX_FRAGMENT]; };
struct CmAcc { float v[CM_MAX_FRAGMENT]; };
struct CmAcc16 { float16_t v[CM_MAX_FRAGMENT]; };
#define CM_A CmA
#define CM_B CmB
#define CM_ACC CmAcc
#define CM_ACC16 CmAcc16

layout(constant_id = 14) const uint CM_LOCKSTEP = 0;

// Makes this invocation's shared-memory writes visible to, and waits for, its subgroup.
void cm_subgroup_sync() {
  subgroupMemoryBarrierShared();
  if (CM_LOCKSTEP == 0) subgroupBarrier();
}

shared float16_t cm_scratch[CM_SUBGROUPS * (CM_M * CM_K + CM_K * CM_N)];

// Elements per invocation of an R x C matrix.
uint cm_fragment_length(uint elements) { return (elements + gl_SubgroupSize - 1) / gl_SubgroupSize; }
uint cm_acc_length(CmAcc m) { return cm_fragment_length(CM_M * CM_N); }
#define CM_ELEM(m, i) (m).v[i]

// (row, column) of flat index f per use.
uvec2 cm_acc_position(uint f) { return uvec2(f / CM_N, f % CM_N); }
uvec2 cm_a_position(uint f) { return uvec2(f % CM_M, f / CM_M); }
uvec2 cm_b_position(uint f) { return uvec2(f % CM_K, f / CM_K); }

// Element (r, c) of a matrix at array[offset] with `stride` elements between rows (row-major)
// or columns (column-major).
uint cm_address(uvec2 rc, uint offset, uint stride, uint order) {
  return offset + (order == CM_ROW_MAJOR ? rc.x * stride + rc.y : rc.y * stride + rc.x);
}

CmAcc cm_acc_fill(float value) {
  CmAcc m;
  for (uint e = 0; e < cm_fragment_length(CM_M * CM_N); ++e) m.v[e] = value;
  return m;
}

// Loads and stores are macros because GLSL cannot pass a shared or buffer array to a function.
#define CM_EMULATED_ACCESS(m, elements, position, body)                              \
  for (uint cm_e = 0; cm_e < cm_fragment_length(elements); ++cm_e) {                 \
    const uint cm_f = cm_e * gl_SubgroupSize + gl_SubgroupInvocationID;              \
    if (cm_f < (elements)) {                                                         \
      const uvec2 cm_rc = position(cm_f);                                            \
      body;                                                                          \
    }                                                                                \
  }
#define CM_LOAD_A(m, array, offset, stride, order)                                  \
  CM_EMULATED_ACCESS(m, CM_M * CM_K, cm_a_position,                                  \
                     (m).v[cm_e] = float16_t(array[cm_address(cm_rc, offset, stride, order)]))
#define CM_LOAD_B(m, array, offset, stride, order)                                  \
  CM_EMULATED_ACCESS(m, CM_K * CM_N, cm_b_position,                                  \
                     (m).v[cm_e] = float16_t(array[cm_address(cm_rc, offset, stride, order)]))
#define CM_LOAD_ACC(m, array, offset, stride, order)                                \
  CM_EMULATED_ACCESS(m, CM_M * CM_N, cm_acc_position,                                \
                     (m).v[cm_e] = float(array[cm_address(cm_rc, offset, stride, order)]))
#define CM_STORE_ACC(m, array, offset, stride, order)                               \
  CM_EMULATED_ACCESS(m, CM_M * CM_N, cm_acc_position,                                \
                     array[cm_address(cm_rc, offset, stride, order)] = (m).v[cm_e])

CmAcc cm_mul_add(CmA a, CmB b, CmAcc c) {
  const uint lane = gl_SubgroupInvocationID;
  const uint a_base = gl_SubgroupID * (CM_M * CM_K + CM_K * CM_N);  // A row-major [M][K]
  const uint b_base = a_base + CM_M * CM_K;                          // B row-major [K][N]
  for (uint e = 0; e < cm_fragment_length(CM_M * CM_K); ++e) {
    const uint f = e * gl_SubgroupSize + lane;
    if (f < CM_M * CM_K) {
      const uvec2 rc = cm_a_position(f);
      cm_scratch[a_base + rc.x * CM_K + rc.y] = a.v[e];
    }
  }
  for (uint e = 0; e < cm_fragment_length(CM_K * CM_N); ++e) {
    const uint f = e * gl_SubgroupSize + lane;
    if (f < CM_K * CM_N) {
      const uvec2 rc = cm_b_position(f);
      cm_scratch[b_base + rc.x * CM_N + rc.y] = b.v[e];
    }
  }
  cm_subgroup_sync();
  for (uint e = 0; e < cm_fragment_length(CM_M * CM_N); ++e) {
    const uint f = e * gl_SubgroupSize + lane;
    if (f < CM_M * CM_N) {
      const uvec2 rc = cm_acc_position(f);
      float sum = c.v[e];
      for (uint k = 0; k < CM_K; ++k) {
        sum += float(cm_scratch[a_base + rc.x * CM_K + k]) * float(cm_scratch[b_base + k * CM_N + rc.y]);
      }
      c.v[e] = sum;
    }
  }
  cm_subgroup_sync();
  return c;
}

CmAcc16 cm_acc_to_f16(CmAcc m) {
  CmAcc16 r;
  for (uint e = 0; e < cm_fragment_length(CM_M * CM_N); ++e) r.v[e] = float16_t(m.v[e]);
  return r;
}
CmAcc cm_acc_from_f16(CmAcc16 m) {
  CmAcc r;
  for (uint e = 0; e < cm_fragment_length(CM_M * CM_N); ++e) r.v[e] = float(m.v[e]);
  return r;
}
