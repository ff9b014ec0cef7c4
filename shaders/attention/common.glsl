// What every attention kernel that reads q, K and V shares, written once: the tensors and their
// bindings, which cache slots a query sees, the rotation of keys read unrotated, the score and
// the online softmax. attention_split.comp (decode) and attention_tiled.comp (prefill) differ
// only in how they spread rows and slots over invocations; paged_attention.comp (PAGED_ATTENTION,
// the batched engine's paged cache) binds a block table instead of kv_pos and has no key rotation.
//
// q: [m, n_head, D] f32, k/v: [n_slots, n_kv_head, D] (KV_F16 or f32), q_pos: [m] i32,
// kv_pos: [n_slots] i32, out: [m, n_head, D] f32, the key rotation's factors (binding 6; not
// paged). GQA/MQA: query head h reads kv head h / (n_head / n_kv_head).
// Constants: 0 the workgroup size (grid.glsl), 1 D (the head dimension, <= 256), 2 ROPE_MODE
// (0: keys used as stored; 1 normal, 2 neox: keys are stored unrotated and slot j's key is
// rotated by RoPE at position kv_pos[j] as it is read). A kernel's own constants start at 3.
// Needs before it: common/types.glsl, common/grid.glsl and attention/params.glsl.

#if defined(KV_F16)
#define KV_T F16_T
#else
#define KV_T F32_T
#endif

layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint ROPE_MODE = 0;

layout(set = 0, binding = 0) readonly buffer QBuf { float q[]; };
layout(set = 0, binding = 1) readonly buffer KBuf { KV_T k[]; };
layout(set = 0, binding = 2) readonly buffer VBuf { KV_T v[]; };
layout(set = 0, binding = 3) readonly buffer QPosBuf { int q_pos[]; };
#if defined(PAGED_ATTENTION)
// The paged cache: k/v are pools of blocks, block_table [n_rows, max_blocks] names each
// sequence's blocks, seq_rows [m] each query's row of it (-1: padding).
layout(set = 0, binding = 4) readonly buffer TableBuf { int block_table[]; };
#else
layout(set = 0, binding = 4) readonly buffer KvPosBuf { int kv_pos[]; };
#endif
layout(set = 0, binding = 5) writeonly buffer OutBuf { float o[]; };
#if !defined(PAGED_ATTENTION)
// The key rotation's frequency factors [n_rot / 2] f32 when p.has_factors != 0 (Llama 3.1's
// rope_freqs); otherwise the binding holds kv_pos again and is not read. paged_attention.comp
// has no key rotation and binds seq_rows here instead.
layout(set = 0, binding = 6) readonly buffer FactorBuf { float factors[]; };
#endif

// --- Visibility, as graph.h defines it ---

// Slot j (position kp) is visible to a query at position qp iff the slot is filled (an empty
// slot holds -1), it is not in the query's future and, with a window, qp - kp < window.
// Positions, not indices, decide: a ring cache stores them in any order.
bool key_visible(int kp, int qp) { return kp >= 0 && kp <= qp && (p.window <= 0 || qp - kp < p.window); }

// Whether some query with a position in [q_min, q_max] can see position kp (a tile of slots
// none of whose positions passes is skipped whole).
bool key_visible_to_range(int kp, int q_min, int q_max) {
  return kp >= 0 && kp <= q_max && (p.window <= 0 || kp > q_min - p.window);
}

// --- Key rotation (rotate_keys) ---
#if !defined(PAGED_ATTENTION)  // a paged cache holds keys rotated at their (absolute) positions

// freq_scale * freq_base^(-2i / n_rot) / factor_i of pair i; filled by load_key_rotation.
shared float key_inv_freq[D / 2 + 1];

// Invocation t of `wg` fills its share of key_inv_freq; the caller puts a barrier() before any
// read. Does nothing when keys are not rotated.
void load_key_rotation(uint t, uint wg) {
  if (ROPE_MODE == 0) return;
  for (uint i = t; i < p.n_rot / 2; i += wg) {
    key_inv_freq[i] = p.freq_scale * pow(p.freq_base, -2.0 * float(i) / float(p.n_rot)) /
                      (p.has_factors != 0 ? factors[p.factors_off + i] : 1.0);
  }
}

// The two dimensions rotated together as pair i (< n_rot / 2): neighbours (normal) or halves
// of the rotated part (neox).
uvec2 rotation_pair(uint i) { return ROPE_MODE == 2 ? uvec2(i, i + p.n_rot / 2) : uvec2(2 * i, 2 * i + 1); }

// The pair that dimension d (< n_rot) belongs to.
uint rotation_pair_of(uint d) { return ROPE_MODE == 2 ? d % (p.n_rot / 2) : d / 2; }

// Pair i of the key whose first element is k[kb], rotated to position kp.
vec2 rotated_key_pair(uint kb, uint i, int kp) {
  const uvec2 dims = rotation_pair(i);
  const float theta = float(kp) * key_inv_freq[i];
  const float c = cos(theta);
  const float s = sin(theta);
  const float x0 = float(k[kb + dims.x]);
  const float x1 = float(k[kb + dims.y]);
  return vec2(x0 * c - x1 * s, x0 * s + x1 * c);
}

// Element d of the key at k[kb], rotated to position kp when keys are rotated.
float key_element(uint kb, uint d, int kp) {
  if (ROPE_MODE == 0 || d >= p.n_rot) return float(k[kb + d]);
  const uint pair = rotation_pair_of(d);
  const vec2 r = rotated_key_pair(kb, pair, kp);
  return d == rotation_pair(pair).x ? r.x : r.y;
}
#endif

// --- Scores and the online softmax ---

// The score of a visible key from q . k: scaled, then soft-capped to softcap * tanh(s / softcap)
// when the push constants ask for it (Gemma 2's attention-logit soft-capping). tanh's argument
// is clamped where tanh is +-1 in f32 anyway, so no implementation's tanh overflows.
float attention_score(float dot_qk) {
  const float s = dot_qk * p.scale;
  return p.softcap > 0.0 ? p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0)) : s;
}

// A row's softmax is computed over batches of scores (one chunk or tile of slots at a time)
// without ever holding all of them: the row keeps its running maximum and the sum of
// exp(score - maximum), and its output accumulates exp(score - maximum) * v. A masked score is
// -inf and weighs 0.
//
// Folds a batch whose largest score is batch_max into the running maximum and returns alpha,
// the factor everything accumulated so far (sum and outputs) is multiplied by. 1 while the row
// has seen no visible key; 0 at its first visible one (nothing was accumulated).
float softmax_rescale(inout float run_max, float batch_max) {
  const float new_max = max(run_max, batch_max);
  const float alpha = new_max == neg_inf() ? 1.0 : exp(run_max - new_max);
  run_max = new_max;
  return alpha;
}

// The weight of a score against the row's running maximum (after softmax_rescale).
float softmax_weight(float score, float run_max) { return score == neg_inf() ? 0.0 : exp(score - run_max); }

// What the accumulated outputs are multiplied by at the end: 1 / sum, or 0 for a row that saw
// no key (its output is zeros).
float softmax_normalizer(float sum) { return sum > 0.0 ? 1.0 / sum : 0.0; }
