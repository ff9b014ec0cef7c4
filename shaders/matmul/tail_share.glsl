// The low-rank tails of matvec_rows.comp built with TAIL (LoRA adapters: the fused form of
// add(matmul(w, x), factor * matmul(b, t)), engine/graph/pass_fusion.cpp): member i's product
// gains factor_i * (b_i t_i), b_i [n_i, r_i] f16 and t_i [m, r_i] f32. Included once per member
// with TAIL_INDEX 0..W_COUNT-1, as rows_share.glsl is per weight: binding TAIL_BINDING + i holds
// b_i and TAIL_BINDING + W_COUNT + i holds t_i; tail_dot_<i> is the sum for one row and token.
// Included by matmul/tails.glsl, which gives TAIL_BINDING, W_COUNT and TAIL_VEC4.

#if TAIL_INDEX == 0
#define TS_B tail_b0
#define TS_B4 tail_b0_4
#define TS_T tail_t0
#define TS_T4 tail_t0_4
#define TS_BUF TailB0
#define TS_BUF4 TailB0_4
#define TS_TBUF TailT0
#define TS_TBUF4 TailT0_4
#define TS_DOT tail_dot_0
#elif TAIL_INDEX == 1
#define TS_B tail_b1
#define TS_B4 tail_b1_4
#define TS_T tail_t1
#define TS_T4 tail_t1_4
#define TS_BUF TailB1
#define TS_BUF4 TailB1_4
#define TS_TBUF TailT1
#define TS_TBUF4 TailT1_4
#define TS_DOT tail_dot_1
#elif TAIL_INDEX == 2
#define TS_B tail_b2
#define TS_B4 tail_b2_4
#define TS_T tail_t2
#define TS_T4 tail_t2_4
#define TS_BUF TailB2
#define TS_BUF4 TailB2_4
#define TS_TBUF TailT2
#define TS_TBUF4 TailT2_4
#define TS_DOT tail_dot_2
#else
#error "TAIL_INDEX must be 0, 1 or 2"
#endif

layout(set = 0, binding = TAIL_BINDING + TAIL_INDEX) readonly buffer TS_BUF { float16_t TS_B[]; };
layout(set = 0, binding = TAIL_BINDING + TAIL_INDEX) readonly buffer TS_BUF4 { uvec2 TS_B4[]; };
layout(set = 0, binding = TAIL_BINDING + W_COUNT + TAIL_INDEX) readonly buffer TS_TBUF { float TS_T[]; };
layout(set = 0, binding = TAIL_BINDING + W_COUNT + TAIL_INDEX) readonly buffer TS_TBUF4 { vec4 TS_T4[]; };

// sum_j b[row][j] * t[token][j] for a rank `r` (0: no tail), b_off in halves, t_off in floats.
// With TAIL_VEC4 (every rank a multiple of 4, every offset aligned) four halves are one 8-byte
// load and four activations one vec4: a CPU driver pays per load instruction (matvec_rows.comp).
float TS_DOT(uint r, uint b_off, uint t_off, uint row, uint token) {
  float s = 0.0;
  if (TAIL_RANK != 0) {  // r == TAIL_RANK, a multiple of 4, offsets aligned
    const uint b4 = (b_off + row * TAIL_RANK) / 4, t4 = (t_off + token * TAIL_RANK) / 4;
    [[unroll]] for (uint j = 0; j < TAIL_RANK / 4; ++j) {
      const uvec2 h = TS_B4[b4 + j];
      s += dot(vec4(unpackHalf2x16(h.x), unpackHalf2x16(h.y)), TS_T4[t4 + j]);
    }
  } else if (TAIL_VEC4 != 0) {
    const uint b4 = (b_off + row * r) / 4, t4 = (t_off + token * r) / 4;
    for (uint j = 0; j < r / 4; ++j) {
      const uvec2 h = TS_B4[b4 + j];
      s += dot(vec4(unpackHalf2x16(h.x), unpackHalf2x16(h.y)), TS_T4[t4 + j]);
    }
  } else {
    for (uint j = 0; j < r; ++j) s += float(TS_B[b_off + row * r + j]) * TS_T[t_off + token * r + j];
  }
  return s;
}

#undef TS_B
#undef TS_B4
#undef TS_T
#undef TS_T4
#undef TS_BUF
#undef TS_BUF4
#undef TS_TBUF
#undef TS_TBUF4
#undef TS_DOT
