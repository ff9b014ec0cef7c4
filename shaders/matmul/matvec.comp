#version 450
// Matrix-vector product for decode (one token): out[t, r] = sum_k w[r, k] * x[t, k].
// A workgroup computes ROWS (token, output row) pairs (constant_id 1); the invocations of each
// pair split its row and reduce through shared memory, all pairs in the same barriers. Several
// rows per workgroup keep every invocation busy when a row has few blocks (n_in 512 is 16 Q8_0
// blocks) and divide the per-workgroup cost, which dominates on CPU drivers. Quantized rows are
// read block by block in their packed form and dequantized in registers.
// Weights: W_F32/W_F16/W_Q8_0/W_Q4_0; activations f32 or f16 (X_F16).
// w: [n_out, n_in], x: [m, n_in], out: [m, n_out] f32.
#extension GL_GOOGLE_include_directive : require
#include "common/types.glsl"
#include "common/grid.glsl"
#define W_BINDING 0
#include "common/weights.glsl"

#if defined(X_F16)
#define X_T F16_T
#else
#define X_T F32_T
#endif

layout(constant_id = 1) const uint ROWS = 1;  // a power of two dividing the workgroup size

layout(set = 0, binding = 1) readonly buffer XBuf { X_T x[]; };
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
layout(push_constant) uniform Params {
  uint m;
  uint n_in;
  uint n_out;
  uint w_off;  // units of the weight array (see weights.glsl)
  uint x_off;
  uint o_off;
#if defined(ADD)
  uint r_off;  // floats
#endif
} p;

// ADD (matmul_add): the epilogue adds r [m, n_out] f32 (a residual) to each stored sum, read at
// the index the sum is written to, so r may share the output's bytes.
#if defined(ADD)
layout(set = 0, binding = 3) readonly buffer ResBuf { float residual[]; };
#define EPILOGUE(sum, token, row) ((sum) + residual[p.r_off + (token) * p.n_out + (row)])
#else
#define EPILOGUE(sum, token, row) (sum)
#endif

shared float partial[MAX_WORKGROUP];

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint lanes = gl_WorkGroupSize.x / ROWS;  // invocations per row
  const uint lane = t % lanes;
  const uint g = group_index() * ROWS + t / lanes;  // token * n_out + row
  // Invocations past the last row still join the barriers below, with nothing to add.
  const bool in_range = g < p.m * p.n_out;
  const uint row = g % p.n_out;
  const uint token = g / p.n_out;
  const uint wb = p.w_off + row * w_row_units(p.n_in);
  const uint xb = p.x_off + token * p.n_in;
  float acc = 0.0;
#if defined(W_QUANTIZED)
  // One block of 32 weights per invocation per iteration: the scale is read once a block.
  const uint blocks = in_range ? p.n_in / QK : 0;
  for (uint blk = lane; blk < blocks; blk += lanes) {
    const uint xk = xb + blk * QK;
#if defined(W_Q8_0)
    const uint word = wb + blk * Q8_0_BLOCK_WORDS;
    float s = 0.0;
    for (uint j = 0; j < 16; ++j) {
      const vec2 q = q8_0_pair(uint(w_data[word + 1 + j]));
      s += q.x * float(x[xk + 2 * j]) + q.y * float(x[xk + 2 * j + 1]);
    }
#else
    const uint word = wb + blk * Q4_0_BLOCK_WORDS;
    float s = 0.0;
    for (uint j = 0; j < 8; ++j) {
      const vec4 q = q4_0_quad(uint(w_data[word + 1 + j]));
      s += q.x * float(x[xk + 2 * j]) + q.y * float(x[xk + 2 * j + 1]) +
           q.z * float(x[xk + 2 * j + 16]) + q.w * float(x[xk + 2 * j + 17]);
    }
#endif
    acc += block_scale(w_data, word) * s;
  }
#else
  // Consecutive invocations read consecutive weights.
  const uint n = in_range ? p.n_in : 0;
  for (uint k = lane; k < n; k += lanes) acc += w_value(wb, k) * float(x[xb + k]);
#endif
  // Tree reduction within each row's group of lanes (lanes is a power of two).
  partial[t] = acc;
  barrier();
  for (uint s = lanes / 2; s > 0; s >>= 1) {
    if (lane < s) partial[t] += partial[t + s];
    barrier();
  }
  if (in_range && lane == 0) o[p.o_off + token * p.n_out + row] = EPILOGUE(partial[t], token, row);
}
