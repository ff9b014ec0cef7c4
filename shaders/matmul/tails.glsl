// The low-rank tails of the mat-vec kernels built with TAIL (matvec_rows.comp and matvec.comp):
// one tail_share.glsl per matrix and member_tail(), which the kernel adds to a matrix's product
// before anything else it applies. Needs from the includer: the push block `p` with the tail_*
// fields, W_COUNT, TAIL_BINDING (b_0 there, then t_0 at TAIL_BINDING + W_COUNT) and TAIL_VEC4_ID
// (the specialization constant the host sets to 1 when every rank is a multiple of 4 and every
// offset aligned) and TAIL_RANK_ID, the next one.

layout(constant_id = TAIL_VEC4_ID) const uint TAIL_VEC4 = 0;
// The rank every tail of the dispatch shares (0 where they differ or TAIL_VEC4 is 0). Known at
// specialization, the loop over it unrolls into straight-line code: a CPU driver then keeps the
// uniform reads of t scalar, where inside a loop of push-constant length it gathers them lane
// by lane (lavapipe: the tails cost several times their loads, measured with `bench --ops`).
layout(constant_id = TAIL_RANK_ID) const uint TAIL_RANK = 0;

#define TAIL_INDEX 0
#include "matmul/tail_share.glsl"
#undef TAIL_INDEX
#if W_COUNT > 1
#define TAIL_INDEX 1
#include "matmul/tail_share.glsl"
#undef TAIL_INDEX
#endif
#if W_COUNT > 2
#define TAIL_INDEX 2
#include "matmul/tail_share.glsl"
#undef TAIL_INDEX
#endif

// Matrix `member`'s tail at its row `row` for token `token` (0 without one). Called in uniform
// control flow with clamped indices, like the weight reads.
float member_tail(uint member, uint row, uint token) {
  if (member == 0) {
    return p.tail_rank0 == 0 ? 0.0 : p.tail_factor0 * tail_dot_0(p.tail_rank0, p.tail_b_off0, p.tail_t_off0, row, token);
  }
#if W_COUNT > 1
  if (member == 1) {
    return p.tail_rank1 == 0 ? 0.0 : p.tail_factor1 * tail_dot_1(p.tail_rank1, p.tail_b_off1, p.tail_t_off1, row, token);
  }
#endif
#if W_COUNT > 2
  if (member == 2) {
    return p.tail_rank2 == 0 ? 0.0 : p.tail_factor2 * tail_dot_2(p.tail_rank2, p.tail_b_off2, p.tail_t_off2, row, token);
  }
#endif
  return 0.0;
}
