// Activations four at a time, at a multiple of 4 (the row kernels' subgroup broadcast of a
// block's activations), read in 64-bit words: a CPU driver splits a vector load into one load
// per lane and component (lavapipe: a bounds-checked load, a branch and a blend each), so 64-bit
// components halve the instructions of an f32 vec4 and quarter those of an f16 one
// (docs/performance.md, "Weights and activations in 64-bit words"); a GPU issues one load either
// way. Needs X_WORDS_BINDING (the activations' binding) and X_F16 for f16 activations.
#if defined(X_F16)
layout(set = 0, binding = X_WORDS_BINDING) readonly buffer XWords { uint64_t x_words[]; };
vec4 x_vec4(uint i) {
  const uvec2 w = unpackUint2x32(x_words[i]);
  return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
}
#else
layout(set = 0, binding = X_WORDS_BINDING) readonly buffer XWords { u64vec2 x_words[]; };
vec4 x_vec4(uint i) {
  const u64vec2 w = x_words[i];
  return uintBitsToFloat(uvec4(unpackUint2x32(w.x), unpackUint2x32(w.y)));
}
#endif
