// The push constants of every matmul kernel, declared once. The C++ side is
// engine/backend/vulkan/push/matmul.h (MatmulPush; MatmulAddPush with ADD, MatmulAddNormPush with
// ADD and NORM; MatmulGroupPush with CAT or SWIGLU, MatmulCatRopePush with CAT and ROPE; with TAIL each of them followed by the tail
// fields: MatmulTailPush, MatmulAddTailPush, MatmulGroupTailPush); the build compares the two field by field
// (shaders/tools/check_push_constants.cpp), so a field added here is added there in the same place.
// Defines W_COUNT: the weight matrices the kernel reads, in bindings 0..W_COUNT-1.
// w: [n_out, n_in], x: [m, n_in], out: [m, n_out]. Weight offsets are in units of the array the
// weight is bound as: elements for F32/F16, uint16_t words of the blocks for quantized types.

#if defined(CAT)
#define W_COUNT 3
#elif defined(SWIGLU)
#define W_COUNT 2
#else
#define W_COUNT 1
#endif

layout(push_constant) uniform Params {
  uint m;
  uint n_in;
  uint n_out;
  uint w_off0;  // weight 0
  uint x_off;
  uint o_off;
#if defined(ADD)
  uint r_off;  // the residual [m, n_out] f32, in floats
#if defined(NORM)
  uint norm_w_off;  // the norm's weight [n_out] f32 and its result [m, n_out] f32, in floats
  uint norm_o_off;
  float norm_eps;
#endif
#elif W_COUNT > 1
  uint w_off1;  // weights 1 and 2, units as w_off0
  uint w_off2;
  uint rows0;  // CAT: rows of weights 0 and 1 (weight 2 has the rest of n_out)
  uint rows1;
#if defined(ROPE)
  // The rope of the result's q and k heads (matmul/rows_rope.glsl), fields as rope/rope.comp's.
  uint rope_x_off;  // its input: the first element of the heads in the result, in floats
  uint rope_heads;
  uint head_dim;
  uint n_rot;
  uint pos_off;
  float freq_base;
  float freq_scale;
  uint factors_off;
  uint has_factors;
  uint rope_o_off;  // its result, in floats
  // The cache writes: A from elements [a_first, a_first + a_count) of the rope's result, B and C
  // copied from b_count / c_count elements of this result at b_src_off / c_src_off; caches of
  // kv_slots rows of kv_row elements (halves), all at the slots at slots_off. A count 0: none.
  uint slots_off;
  uint kv_row;
  uint kv_slots;
  uint a_first;
  uint a_count;
  uint a_off;
  uint b_src_off;
  uint b_count;
  uint b_off;
  uint c_src_off;
  uint c_count;
  uint c_off;
#endif
#endif
#if defined(TAIL)
  uint tail_rank0;  // per matrix: its low-rank tail's rank, 0 for none (matmul/tails.glsl)
  uint tail_rank1;
  uint tail_rank2;
  uint tail_b_off0;  // b_i in halves
  uint tail_b_off1;
  uint tail_b_off2;
  uint tail_t_off0;  // t_i in floats
  uint tail_t_off1;
  uint tail_t_off2;
  float tail_factor0;
  float tail_factor1;
  float tail_factor2;
#endif
} p;
