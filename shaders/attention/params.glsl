// The push constants of the attention kernels, declared once. The C++ side is
// engine/backend/vulkan/push/attention.h: AttentionPush (attention_tiled.comp), AttentionSplitPush
// (ATTENTION_SPLIT: attention_split.comp), AttentionReducePush (ATTENTION_REDUCE:
// attention_reduce.comp) and PagedAttentionPush (PAGED_ATTENTION: paged_attention.comp). The build compares them field by field
// (shaders/tools/check_push_constants.cpp): a feature that needs a new scalar adds it in both,
// at the same place.

#if defined(PAGED_ATTENTION)
// paged_attention.comp (C++: PagedAttentionPush): the pool and the block table instead of
// kv_pos and the key rotation, then the split over key chunks as in ATTENTION_SPLIT.
layout(push_constant) uniform Params {
  uint m;  // query rows (tokens)
  uint n_head;
  uint n_kv_head;
  uint n_slots;  // pool slots: blocks x block_size
  float scale;   // of q . k
  int window;    // <= 0: none
  uint q_off;
  uint k_off;
  uint v_off;
  uint q_pos_off;
  uint table_off;
  uint o_off;
  uint seq_rows_off;
  uint n_rows;      // rows of the block table
  uint max_blocks;  // blocks per row
  uint block_size;  // positions per block
  uint n_chunks;    // key chunks per query (1: no split)
  uint chunk_len;   // positions per chunk, a multiple of the kernel's BC
  uint part_off;    // floats
  float softcap;    // 0: scores not capped
} p;
#elif defined(ATTENTION_REDUCE)
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
  float softcap;  // 0: scores not capped
#if defined(ATTENTION_SPLIT)
  uint n_chunks;
  uint chunk_len;  // a multiple of the split kernel's workgroup
  uint part_off;   // floats
#endif
} p;
#endif
