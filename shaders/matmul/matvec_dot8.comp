#version 450
// Integer-dot-product mat-vec for Q8_0 and Q4_0 weights: out[t, r] = sum_k w[r, k] * x[t, k].
// The activations are quantized to int8 per block of 32 on the fly, as llama.cpp's CPU and GPU
// paths do (Q8_0 activations): d_x = max|x_b| / 127, q_x = round(x / d_x). A block's product is
// then one integer sum of 4x8-bit packed dot products (dotPacked4x8AccSatEXT) times d_w * d_x,
// which is one instruction per 4 weights on GPUs that accelerate it (the kernel table picks this
// kernel only there: RowWhen::int8_dot_fast). The rounding of the activations is the only
// difference from the float kernels: |x - d_x q_x| <= d_x / 2 per element.
//
// A workgroup owns ROWS output rows of one token; each row is split over LANES invocations that
// take every LANES-th block and are reduced through shared memory. The token's activations are
// walked in chunks of CHUNK blocks: the first CHUNK invocations quantize one block each into
// shared memory (8 packed words, the scale and, for Q4_0, the block's quant sum), a barrier, then
// every row consumes the chunk. So each activation is quantized once per workgroup, and the
// shared memory does not grow with n_in.
// Weights: W_Q8_0 or W_Q4_0; activations f32 or f16 (X_F16).
// w: [n_out, n_in], x: [m, n_in], out: [m, n_out] f32.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_integer_dot_product : require
#extension GL_EXT_control_flow_attributes : require
#include "common/types.glsl"
#include "common/grid.glsl"
#include "common/quant.glsl"

#if defined(X_F16)
#define X_T F16_T
#else
#define X_T F32_T
#endif

layout(constant_id = 1) const uint ROWS = 16;  // output rows per workgroup
layout(constant_id = 2) const uint LANES = 4;  // invocations per row; ROWS * LANES = workgroup size
#define CHUNK 32u  // activation blocks quantized per step (<= the workgroup size, checked by the host)

layout(set = 0, binding = 0) readonly buffer WeightBuf { uint16_t w_data[]; };
layout(set = 0, binding = 1) readonly buffer XBuf { X_T x[]; };
layout(set = 0, binding = 2) writeonly buffer OutBuf { float o[]; };
#include "matmul/params.glsl"

shared int xq[CHUNK * 8];   // the chunk's quantized activations, 4 per word, little-endian
shared float xd[CHUNK];     // their scales
shared int xsum[CHUNK];     // sum of each block's 32 quants (Q4_0's "- 8" term)
shared float partial[MAX_WORKGROUP];

// Quantizes activation block `blk` of the token starting at `xb` into slot `s` of the chunk.
void quantize_block(uint xb, uint blk, uint s) {
  float v[32];
  float amax = 0.0;
  [[unroll]] for (uint i = 0; i < 32; ++i) {
    v[i] = float(x[xb + blk * QK + i]);
    amax = max(amax, abs(v[i]));
  }
  const float d = amax / 127.0;
  const float inv = d != 0.0 ? 1.0 / d : 0.0;
  int total = 0;
  [[unroll]] for (uint j = 0; j < 8; ++j) {
    const ivec4 q = ivec4(round(vec4(v[4 * j], v[4 * j + 1], v[4 * j + 2], v[4 * j + 3]) * inv));
    total += q.x + q.y + q.z + q.w;
    xq[s * 8 + j] = (q.x & 0xff) | ((q.y & 0xff) << 8) | ((q.z & 0xff) << 16) | (q.w << 24);
  }
  xd[s] = d;
  xsum[s] = total;
}

// A 32-bit word from two 16-bit words of the packed row.
int word32(uint i16) { return int(uint(w_data[i16]) | (uint(w_data[i16 + 1]) << 16)); }

// Block `blk` of the row starting at word `wb` against chunk slot `s`.
float block_dot(uint wb, uint blk, uint s) {
#if defined(W_Q8_0)
  const uint b = wb + blk * Q8_0_BLOCK_WORDS;
  int sum = 0;
  [[unroll]] for (uint j = 0; j < 8; ++j) sum = dotPacked4x8AccSatEXT(word32(b + 1 + 2 * j), xq[s * 8 + j], sum);
#elif defined(W_Q4_0)
  // Word j holds weights 4j..4j+3 in its low nibbles and 16+4j..16+4j+3 in its high ones; the
  // nibbles (0..15) are valid signed bytes, and the "- 8" is applied once through the block's
  // activation quant sum.
  const uint b = wb + blk * Q4_0_BLOCK_WORDS;
  int sum = 0;
  [[unroll]] for (uint j = 0; j < 4; ++j) {
    const int v = word32(b + 1 + 2 * j);
    sum = dotPacked4x8AccSatEXT(v & 0x0f0f0f0f, xq[s * 8 + j], sum);
    sum = dotPacked4x8AccSatEXT((v >> 4) & 0x0f0f0f0f, xq[s * 8 + 4 + j], sum);
  }
  sum -= 8 * xsum[s];
#else
#error "define W_Q8_0 or W_Q4_0"
#endif
  return block_scale(w_data, b) * xd[s] * float(sum);
}

void main() {
  const uint row_tiles = (p.n_out + ROWS - 1) / ROWS;
  const uint g = group_index();
  if (g >= row_tiles * p.m) return;  // uniform for the workgroup
  const uint t = g / row_tiles;
  const uint inv = gl_LocalInvocationID.x;
  const uint lane = inv % LANES;
  const uint row = (g % row_tiles) * ROWS + inv / LANES;
  // Rows past n_out compute the last row (keeps every invocation at the barriers), not stored.
  const uint wb = p.w_off0 + min(row, p.n_out - 1) * (p.n_in / QK) *
#if defined(W_Q8_0)
                                Q8_0_BLOCK_WORDS;
#else
                                Q4_0_BLOCK_WORDS;
#endif
  const uint xb = p.x_off + t * p.n_in;
  const uint blocks = p.n_in / QK;

  float acc = 0.0;
  for (uint c0 = 0; c0 < blocks; c0 += CHUNK) {
    const uint count = min(CHUNK, blocks - c0);
    if (inv < count) quantize_block(xb, c0 + inv, inv);
    barrier();
    for (uint s = lane; s < count; s += LANES) acc += block_dot(wb, c0 + s, s);
    barrier();
  }
  partial[inv] = acc;
  barrier();
  if (lane == 0 && row < p.n_out) {
    float total = 0.0;
    for (uint l = 0; l < LANES; ++l) total += partial[inv + l];
    o[p.o_off + t * p.n_out + row] = total;
  }
}
