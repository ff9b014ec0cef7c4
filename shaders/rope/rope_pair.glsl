// One pair of the rotary position embedding, shared by rope/rope.comp and the matmul_cat that
// performs the rope of its own result (matmul/rows_rope.glsl): one expression in both, so the two
// kernels compute the same bits (a decode step runs one, the step that verifies drafted tokens or
// a prompt the other; docs/serving.md, batch invariance).
//   normal (llama): rotates (2i, 2i + 1) for 2i < n_rot
//   NEOX (qwen2):   rotates (i, i + n_rot/2) for i < n_rot/2
// with theta = pos * freq_scale * freq_base^(-2i / n_rot) / factors[i] (the optional frequency
// factors, Llama 3.1's rope_freqs; without them all 1); dimensions >= n_rot pass through.
//
// The includer defines, before this file:
//   ROPE_IS_NEOX      a bool expression: the NEOX pairing
//   ROPE_X(i)         element i of the input, counted from its first (float)
//   ROPE_POS(token)   the token's position (int)
//   ROPE_FACTOR(j)    pair j's frequency factor (float; read only with factors)
//   ROPE_STORE(e, v)  a statement storing v as element e of the result, counted from its first

struct RopeShape {
  uint n_head;
  uint head_dim;
  uint n_rot;
  float freq_base;
  float freq_scale;
  bool has_factors;
};

// Pairs per head: the rotated ones, then the pass-through dimensions two at a time.
uint rope_pairs_per_head(RopeShape s) { return s.n_rot / 2 + (s.head_dim - s.n_rot + 1) / 2; }

// Pair g of the rope's m * n_head * rope_pairs_per_head pairs.
void rope_pair(RopeShape s, uint g) {
  const uint half_rot = s.n_rot / 2;
  const uint pairs = rope_pairs_per_head(s);
  const uint j = g % pairs;
  const uint head_row = g / pairs;  // token * n_head + head
  const uint token = head_row / s.n_head;
  const uint b = head_row * s.head_dim;
  if (j < half_rot) {
    const float theta = float(ROPE_POS(token)) * s.freq_scale *
                        pow(s.freq_base, -2.0 * float(j) / float(s.n_rot)) /
                        (s.has_factors ? ROPE_FACTOR(j) : 1.0);
    const float c = cos(theta);
    const float sn = sin(theta);
    const uint i0 = ROPE_IS_NEOX ? j : 2 * j;
    const uint i1 = ROPE_IS_NEOX ? j + half_rot : 2 * j + 1;
    const float x0 = ROPE_X(b + i0);
    const float x1 = ROPE_X(b + i1);
    ROPE_STORE(b + i0, x0 * c - x1 * sn)
    ROPE_STORE(b + i1, x0 * sn + x1 * c)
  } else {
    const uint i = s.n_rot + 2 * (j - half_rot);
    ROPE_STORE(b + i, ROPE_X(b + i))
    if (i + 1 < s.head_dim) ROPE_STORE(b + i + 1, ROPE_X(b + i + 1))
  }
}
