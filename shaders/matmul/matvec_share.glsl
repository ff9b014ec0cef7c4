// The weight side of matvec.comp: one weight binding and the function that sums one
// invocation's share of a row of it. Included once per weight the kernel reads (a fused kernel
// reads two or three matrices in separate bindings), with MV_INDEX set to 0, 1 or 2: binding
// MV_INDEX and row_dot_<MV_INDEX>. A GLSL function cannot take a buffer, hence the copies.
// Needs from the includer: p.n_in, x[] and W_QUANTIZED for Q8_0/Q4_0 (W_CHUNKED types decode
// through their copy of common/quant_blocks.glsl).

#if MV_INDEX == 0
#define MV_W w0_data
#define MV_BUF WeightBuf0
#define MV_ROW_DOT row_dot_0
#define MV_SCALES mv_scales_0
#define MV_QUANTS mv_quants_0
#define MV_CHUNK mv_chunk_0
#define MV_VALUE mv_value_0
#elif MV_INDEX == 1
#define MV_W w1_data
#define MV_BUF WeightBuf1
#define MV_ROW_DOT row_dot_1
#define MV_SCALES mv_scales_1
#define MV_QUANTS mv_quants_1
#define MV_CHUNK mv_chunk_1
#define MV_VALUE mv_value_1
#elif MV_INDEX == 2
#define MV_W w2_data
#define MV_BUF WeightBuf2
#define MV_ROW_DOT row_dot_2
#define MV_SCALES mv_scales_2
#define MV_QUANTS mv_quants_2
#define MV_CHUNK mv_chunk_2
#define MV_VALUE mv_value_2
#else
#error "MV_INDEX must be 0, 1 or 2"
#endif

#if defined(W_F32)
layout(set = 0, binding = MV_INDEX) readonly buffer MV_BUF { float MV_W[]; };
#elif defined(W_F16)
layout(set = 0, binding = MV_INDEX) readonly buffer MV_BUF { float16_t MV_W[]; };
#else
layout(set = 0, binding = MV_INDEX) readonly buffer MV_BUF { uint16_t MV_W[]; };
#endif
#if defined(W_BF16)
#define MV_ELEM(i) bf16_value(MV_W[i])
#else
#define MV_ELEM(i) float(MV_W[i])
#endif
#if defined(W_CHUNKED)
#define QB_W MV_W
#define QB_SCALES MV_SCALES
#define QB_QUANTS MV_QUANTS
#define QB_CHUNK MV_CHUNK
#define QB_VALUE MV_VALUE
#include "common/quant_blocks.glsl"
#undef QB_W
#undef QB_SCALES
#undef QB_QUANTS
#undef QB_CHUNK
#undef QB_VALUE
#endif

// This invocation's share (lane of lanes) of the row starting at unit wb times x from xb.
float MV_ROW_DOT(uint wb, uint xb, uint lane, uint lanes, bool in_range) {
  float acc = 0.0;
#if defined(W_CHUNKED)
  // One chunk of 32 weights per invocation per iteration, decoded with its block's scales.
  const uint chunks = in_range ? p.n_in / QK : 0;
  for (uint ch = lane; ch < chunks; ch += lanes) {
    vec4 w[8];
    MV_CHUNK(wc_block_word(wb, ch), wc_chunk_in_block(ch), w);
    const uint xk = xb + ch * QK;
    float s = 0.0;
    for (uint i = 0; i < 8; ++i) {
      s += dot(w[i], vec4(float(x[xk + 4 * i]), float(x[xk + 4 * i + 1]), float(x[xk + 4 * i + 2]),
                          float(x[xk + 4 * i + 3])));
    }
    acc += s;
  }
#elif defined(W_QUANTIZED)
  // One block of 32 weights per invocation per iteration: the scale is read once a block.
  const uint blocks = in_range ? p.n_in / QK : 0;
  for (uint blk = lane; blk < blocks; blk += lanes) {
    const uint xk = xb + blk * QK;
#if defined(W_Q8_0)
    const uint word = wb + blk * Q8_0_BLOCK_WORDS;
    float s = 0.0;
    for (uint j = 0; j < 16; ++j) {
      const vec2 q = q8_0_pair(uint(MV_W[word + 1 + j]));
      s += q.x * float(x[xk + 2 * j]) + q.y * float(x[xk + 2 * j + 1]);
    }
#else
    const uint word = wb + blk * Q4_0_BLOCK_WORDS;
    float s = 0.0;
    for (uint j = 0; j < 8; ++j) {
      const vec4 q = q4_0_quad(uint(MV_W[word + 1 + j]));
      s += q.x * float(x[xk + 2 * j]) + q.y * float(x[xk + 2 * j + 1]) +
           q.z * float(x[xk + 2 * j + 16]) + q.w * float(x[xk + 2 * j + 17]);
    }
#endif
    acc += block_scale(MV_W, word) * s;
  }
#else
  // Consecutive invocations read consecutive weights.
  const uint n = in_range ? p.n_in : 0;
  for (uint k = lane; k < n; k += lanes) acc += MV_ELEM(wb + k) * float(x[xb + k]);
#endif
  return acc;
}

#undef MV_W
#undef MV_BUF
#undef MV_ROW_DOT
#undef MV_SCALES
#undef MV_QUANTS
#undef MV_CHUNK
#undef MV_VALUE
#undef MV_ELEM
