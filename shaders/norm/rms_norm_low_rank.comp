#version 450
// rms_norm_mul of one token with LoRA adapters' low-rank work folded in (graph.h: LowRankNorm,
// engine/graph/pass_low_rank_norm.cpp), one workgroup:
//   h = x + factor * (b (a u))     when delta_rank > 0 (else h = x), written at o_off
//   y = h / sqrt(mean(h^2) + eps) * w, written after h
//   t_j = a_j y for the products of rank_j > 0, written after y, side by side
// x, w, u f32; a [delta_rank, u_n], b [n, delta_rank], a_j [rank_j, n] f16. The products are
// tiny (ranks of 8 to 64): done here they cost a few microseconds of one workgroup, where each
// would be a dispatch of its own.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"
#include "common/reduce.glsl"

// Each matrix and vector also as 4-element words (uvec2: four halves), used when `words4` says
// every length and offset allows: a CPU driver pays per load instruction, not per byte.
layout(set = 0, binding = 0) readonly buffer XBuf { float x[]; };
layout(set = 0, binding = 1) readonly buffer WBuf { float w[]; };
layout(set = 0, binding = 2) readonly buffer UBuf { float u[]; };
layout(set = 0, binding = 2) readonly buffer UBuf4 { vec4 u4[]; };
layout(set = 0, binding = 3) readonly buffer ABuf { float16_t a[]; };
layout(set = 0, binding = 3) readonly buffer ABuf4 { uvec2 a_4[]; };
layout(set = 0, binding = 4) readonly buffer BBuf { float16_t b[]; };
layout(set = 0, binding = 4) readonly buffer BBuf4 { uvec2 b_4[]; };
layout(set = 0, binding = 5) readonly buffer A0Buf { float16_t a0[]; };
layout(set = 0, binding = 5) readonly buffer A0Buf4 { uvec2 a0_4[]; };
layout(set = 0, binding = 6) readonly buffer A1Buf { float16_t a1[]; };
layout(set = 0, binding = 6) readonly buffer A1Buf4 { uvec2 a1_4[]; };
layout(set = 0, binding = 7) readonly buffer A2Buf { float16_t a2[]; };
layout(set = 0, binding = 7) readonly buffer A2Buf4 { uvec2 a2_4[]; };
// Coherent: the products read y, which other invocations of the workgroup wrote.
layout(set = 0, binding = 8) coherent buffer OutBuf { float o[]; };
layout(set = 0, binding = 8) coherent buffer OutBuf4 { vec4 o4[]; };
// The C++ side: NormLowRankPush in engine/backend/vulkan/push/row_ops.h (the build compares the two).
layout(push_constant) uniform Params {
  uint n;
  uint x_off;
  uint w_off;
  uint o_off;
  float eps;
  uint delta_rank;
  uint u_n;
  uint u_off;
  uint a_off;
  uint b_off;
  float factor;
  uint rank0;
  uint rank1;
  uint rank2;
  uint a0_off;
  uint a1_off;
  uint a2_off;
  uint words4;  // 1: every length, rank and offset a multiple of 4
} p;

// The host keeps every rank at or under 64 (pass_low_rank_norm.cpp: kMaxRank).
#define MAX_RANK 64
shared float partial[MAX_WORKGROUP];
shared float delta_t[MAX_RANK];

// Invocations per row of a low-rank matrix (the kernel table's row sets it). 0: as many as the
// workgroup holds (a GPU: neighbouring lanes read neighbouring elements), the row's sum then
// gathered through shared memory. 1: a row per invocation (a CPU-class device, where a workgroup
// is a loop over SIMD chunks of invocations and each barrier switches between them: the column
// index is the same in every lane, so the vector is read once per chunk, and no barrier is
// needed to finish a row).
layout(constant_id = 1) const uint LANES = 0;

uint lanes_for(uint r) { return LANES != 0 ? LANES : max(gl_WorkGroupSize.x / r, 1u); }

vec4 halves4(uvec2 h) { return vec4(unpackHalf2x16(h.x), unpackHalf2x16(h.y)); }

// acc += this lane's share of row `row` of A [r, len] times V: elements lane, lane + lanes, ...
// (with words4, words of four: A4 and V4 at a quarter of each index).
#define LANE_DOT(A, A4, off, row, V, V4, v_off, len, lane, lanes, acc)                       \
  if (p.words4 != 0) {                                                                       \
    const uint len4 = (len) / 4, a4 = (off) / 4 + (row) * len4, v4 = (v_off) / 4;            \
    for (uint i = (lane); i < len4; i += (lanes)) acc += dot(halves4(A4[a4 + i]), V4[v4 + i]); \
  } else {                                                                                   \
    for (uint i = (lane); i < (len); i += (lanes)) acc += float(A[(off) + (row) * (len) + i]) * V[(v_off) + i]; \
  }

// Row `row`'s dot product from its lanes' partial sums.
float row_sum(uint row, uint r) {
  const uint lanes = lanes_for(r);
  float s = 0.0;
  for (uint c = 0; c < lanes; ++c) s += partial[row * lanes + c];
  return s;
}

// STORE(row, value) for every row < r of A V, by invocation `row` (in uniform control flow:
// with LANES 0 it has barriers). The caller adds a barrier before others read what it stored.
#define LOW_RANK_ROWS(A, A4, off, r, V, V4, v_off, len, STORE)                     \
  if (LANES == 1) {                                                                \
    if (gl_LocalInvocationID.x < (r)) {                                            \
      float acc = 0.0;                                                             \
      LANE_DOT(A, A4, off, gl_LocalInvocationID.x, V, V4, v_off, len, 0, 1, acc)   \
      STORE(gl_LocalInvocationID.x, acc);                                          \
    }                                                                              \
  } else {                                                                         \
    const uint lanes = lanes_for(r), q = gl_LocalInvocationID.x;                   \
    if (q < (r) * lanes) {                                                         \
      float acc = 0.0;                                                             \
      LANE_DOT(A, A4, off, q / lanes, V, V4, v_off, len, q % lanes, lanes, acc)    \
      partial[q] = acc;                                                            \
    }                                                                              \
    barrier();                                                                     \
    if (q < (r)) STORE(q, row_sum(q, r));                                          \
    barrier();                                                                     \
  }

#define STORE_DELTA(row, value) delta_t[row] = (value)
#define STORE_T(row, value) o[t_off + (row)] = (value)

// Product j's rows into o at t_off, from y at y_off.
#define PRODUCT(A, A4, off, r)                                  \
  if ((r) > 0) {                                                \
    LOW_RANK_ROWS(A, A4, off, r, o, o4, y_off, p.n, STORE_T)    \
    t_off += (r);                                               \
  }

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint n = p.n;
  const bool delta = p.delta_rank > 0;
  uint y_off = p.o_off;
  float ss = 0.0;
  if (delta) {
    LOW_RANK_ROWS(a, a_4, p.a_off, p.delta_rank, u, u4, p.u_off, p.u_n, STORE_DELTA)
    barrier();
    const uint r = p.delta_rank;
    for (uint i = lid; i < n; i += gl_WorkGroupSize.x) {
      float d = 0.0;
      if (p.words4 != 0) {
        const uint b4 = (p.b_off + i * r) / 4;
        for (uint j = 0; j < r / 4; ++j) {
          d += dot(halves4(b_4[b4 + j]), vec4(delta_t[4 * j], delta_t[4 * j + 1], delta_t[4 * j + 2], delta_t[4 * j + 3]));
        }
      } else {
        for (uint j = 0; j < r; ++j) d += float(b[p.b_off + i * r + j]) * delta_t[j];
      }
      const float h = x[p.x_off + i] + p.factor * d;
      o[p.o_off + i] = h;  // re-read below by this invocation only
      ss += h * h;
    }
    y_off += n;
  } else {
    for (uint i = lid; i < n; i += gl_WorkGroupSize.x) {
      const float h = x[p.x_off + i];
      ss += h * h;
    }
  }
  const float inv = inversesqrt(workgroup_sum(ss) / float(n) + p.eps);
  for (uint i = lid; i < n; i += gl_WorkGroupSize.x) {
    const float h = delta ? o[p.o_off + i] : x[p.x_off + i];
    o[y_off + i] = h * inv * w[p.w_off + i];
  }
  groupMemoryBarrier();  // y's writes, visible to the workgroup (a device-scope barrier needs a feature)
  barrier();
  uint t_off = y_off + n;
  PRODUCT(a0, a0_4, p.a0_off, p.rank0)
  PRODUCT(a1, a1_4, p.a1_off, p.rank1)
  PRODUCT(a2, a2_4, p.a2_off, p.rank2)
}
