#version 450
// Matrix-vector product for decode (one token): out[t, r] = sum_k w[r, k] * x[t, k].
// A workgroup computes ROWS (token, output row) pairs (constant_id 1); the invocations of each
// pair split its row and reduce through shared memory, all pairs in the same barriers. Several
// rows per workgroup keep every invocation busy when a row has few blocks (n_in 512 is 16 Q8_0
// blocks) and divide the per-workgroup cost, which dominates on CPU drivers. Quantized rows are
// read block by block in their packed form and dequantized in registers.
// Weights: every type with Vulkan kernels (W_<TYPE>); activations f32 or f16 (X_F16).
// w: [n_out, n_in], x: [m, n_in], out: [m, n_out] f32.
// Fused variants for devices without subgroup shuffles, as in matvec_rows.comp: CAT (matmul_cat,
// weights in bindings 0-2, out = the products side by side, a workgroup's rows in one matrix)
// and SWIGLU (matmul_swiglu, gate and up in bindings 0-1, out = silu(gate) * up), and with TAIL
// each matrix's low-rank tail (LoRA) added to its product.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common/types.glsl"
#include "common/grid.glsl"
#include "common/quant.glsl"
#if defined(W_Q8_0) || defined(W_Q4_0)
#define W_QUANTIZED 1
#elif !defined(W_F32) && !defined(W_F16) && !defined(W_BF16) && !defined(W_CHUNKED)
#error "define W_<TYPE> for a type with Vulkan kernels in engine/core/weight_types.def"
#endif

#if defined(X_F16)
#define X_T F16_T
#else
#define X_T F32_T
#endif

layout(constant_id = 1) const uint ROWS = 1;  // a power of two dividing the workgroup size

#include "matmul/params.glsl"
layout(set = 0, binding = W_COUNT) readonly buffer XBuf { X_T x[]; };
layout(set = 0, binding = W_COUNT + 1) writeonly buffer OutBuf { float o[]; };

// ADD (matmul_add): the epilogue adds r [m, n_out] f32 (a residual) to each stored sum, read at
// the index the sum is written to, so r may share the output's bytes.
#if defined(ADD)
layout(set = 0, binding = 3) readonly buffer ResBuf { float residual[]; };
#define EPILOGUE(sum, token, row) ((sum) + residual[p.r_off + (token) * p.n_out + (row)])
#else
#define EPILOGUE(sum, token, row) (sum)
#endif

// TAIL: a low-rank tail per matrix (matmul/tails.glsl), after the output (and the residual).
#if defined(TAIL)
#if defined(ADD)
#define TAIL_BINDING (W_COUNT + 3)
#else
#define TAIL_BINDING (W_COUNT + 2)
#endif
#define TAIL_VEC4_ID 2
#define TAIL_RANK_ID 3
#include "matmul/tails.glsl"
#define TAIL_OF(member, row, token) member_tail(member, min(row, n_rows - 1), min(token, p.m - 1))
#else
#define TAIL_OF(member, row, token) 0.0
#endif

// One weight binding and its row_dot_<i> per matrix.
#define MV_INDEX 0
#include "matmul/matvec_share.glsl"
#undef MV_INDEX
#if W_COUNT > 1
#define MV_INDEX 1
#include "matmul/matvec_share.glsl"
#undef MV_INDEX
#endif
#if W_COUNT > 2
#define MV_INDEX 2
#include "matmul/matvec_share.glsl"
#undef MV_INDEX
#endif

uint row_units() {
#if defined(W_Q8_0)
  return p.n_in / QK * Q8_0_BLOCK_WORDS;
#elif defined(W_Q4_0)
  return p.n_in / QK * Q4_0_BLOCK_WORDS;
#elif defined(W_CHUNKED)
  return p.n_in / WC_BLOCK_ELEMENTS * WC_BLOCK_WORDS;
#else
  return p.n_in;
#endif
}

shared float partial[MAX_WORKGROUP];

// Tree reduction of v within each row's group of lanes (lanes is a power of two); every
// invocation of the workgroup must call it (barriers).
float reduce_row(float v, uint t, uint lane, uint lanes) {
  partial[t] = v;
  barrier();
  for (uint s = lanes / 2; s > 0; s >>= 1) {
    if (lane < s) partial[t] += partial[t + s];
    barrier();
  }
  const float sum = partial[t - lane];
  barrier();  // partial[] is reused by the next reduction
  return sum;
}

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint lanes = gl_WorkGroupSize.x / ROWS;  // invocations per row
  const uint lane = t % lanes;
#if defined(CAT)
  // Workgroups of weight 0's rows, then weight 1's, then weight 2's (per token): a workgroup's
  // rows lie in one matrix, so its choice of binding is uniform.
  const uint n0 = p.rows0, n1 = p.rows1, n2 = p.n_out - p.rows0 - p.rows1;
  const uint groups0 = (n0 + ROWS - 1) / ROWS, groups1 = (n1 + ROWS - 1) / ROWS;
  const uint per_token = groups0 + groups1 + (n2 + ROWS - 1) / ROWS;
  const uint token = group_index() / per_token;
  uint tile = group_index() % per_token;
  uint sel = 0, n_rows = n0, first = 0;
  if (tile >= groups0) {
    tile -= groups0;
    sel = 1;
    n_rows = n1;
    first = n0;
    if (tile >= groups1) {
      tile -= groups1;
      sel = 2;
      n_rows = n2;
      first = n0 + n1;
    }
  }
  const uint row = tile * ROWS + t / lanes;
  const bool in_range = token < p.m && row < n_rows;
#else
  const uint g = group_index() * ROWS + t / lanes;  // token * n_out + row
  const uint n_rows = p.n_out, first = 0;
  const bool in_range = g < p.m * p.n_out;
  const uint row = g % p.n_out;
  const uint token = g / p.n_out;
#endif
  // Invocations past the last row still join the barriers, with nothing to add.
  const uint w_row = min(row, n_rows - 1) * row_units();
  const uint xb = p.x_off + min(token, p.m - 1) * p.n_in;
#if defined(CAT)
  float acc;
  if (sel == 0) {
    acc = row_dot_0(p.w_off0 + w_row, xb, lane, lanes, in_range);
  } else if (sel == 1) {
    acc = row_dot_1(p.w_off1 + w_row, xb, lane, lanes, in_range);
  } else {
    acc = row_dot_2(p.w_off2 + w_row, xb, lane, lanes, in_range);
  }
  const float value = reduce_row(acc, t, lane, lanes) + TAIL_OF(sel, row, token);
#elif defined(SWIGLU)
  const float gate =
      reduce_row(row_dot_0(p.w_off0 + w_row, xb, lane, lanes, in_range), t, lane, lanes) + TAIL_OF(0, row, token);
  const float up =
      reduce_row(row_dot_1(p.w_off1 + w_row, xb, lane, lanes, in_range), t, lane, lanes) + TAIL_OF(1, row, token);
  const float value = gate / (1.0 + exp(-gate)) * up;  // silu as elementwise/swiglu computes it
#else
  const float value =
      reduce_row(row_dot_0(p.w_off0 + w_row, xb, lane, lanes, in_range), t, lane, lanes) + TAIL_OF(0, row, token);
#endif
  if (in_range && lane == 0) o[p.o_off + token * p.n_out + first + row] = EPILOGUE(value, token, row);
}
