// The push constants of the attention kernels, declared once. The C++ side is
// engine/backend/vulkan/push/attention.h: AttentionPush (attention_tiled.comp), AttentionSplitPush
// (ATTENTION_SPLIT: attention_split.comp) and AttentionReducePush (ATTENTION_REDUCE:
// attention_reduce.comp). The build compares them field by field
// (shaders/tools/check_push_constants.cpp): a feature that needs a new scalar adds it in both,
// at the same place.

#if defined(ATTENTION_REDUCE)
layout(push_constant) uniform Params {
  uint rows;      // (token, head) rows of the output
  uint n_chunks;  // partial results per row
  uint part_off;  // floats
  uint o_off;
} p;
#else
layout(push_constant) uniform Params {
  uint m;  // query rows (tokens)
  uint n_head;
  uint n_kv_head;
  uint n_slots;  // cache slots
  float scale;   // of q . k
  int window;    // <= 0: none
  uint q_off;
  uint k_off;
  uint v_off;
  uint q_pos_off;
  uint kv_pos_off;
  uint o_off;
  uint n_rot;  // key rotation (rotate_keys): rotated dimensions (even, <= D)
  float freq_base;
  float freq_scale;
  uint factors_off;  // key rotation's frequency factors (binding 6) when has_factors != 0
  uint has_factors;
#if defined(ATTENTION_SPLIT)
  uint n_chunks;
  uint chunk_len;  // a multiple of the split kernel's workgroup
  uint part_off;   // floats
#endif
} p;
#endif
