// Activations four at a time, at a multiple of 4 (the row kernels' subgroup broadcast of a
// block's activations), for CPU-class drivers. There a vector load whose address differs between
// lanes is split into one load per lane and component, and lavapipe's storage-buffer loads are
// each bounds-checked with a branch; its uniform-buffer loads are plain loads. So, when the
// activations fit one uniform-buffer binding (X_UNIFORM, set by the host), they are read from
// one; otherwise from the storage buffer, in 64-bit components, which halves the loads of an f32
// vec4 and quarters those of an f16 one. (docs/performance.md, "Activations through a uniform
// buffer, weights in 64-bit words".) A GPU issues one load either way.
// Needs X_WORDS_BINDING (the activations' storage binding), X_UNIFORM_BINDING (the last binding
// of the kernel) and X_F16 for f16 activations.

// 1: read x through the uniform buffer at X_UNIFORM_BINDING, bound over the storage binding's
// bytes (the host binds 16 bytes of it, unused, otherwise). X_UNIFORM_VEC4, the declared length,
// is the device's whole range in 16-byte words: one pipeline for every activation size.
layout(constant_id = 8) const uint X_UNIFORM = 0;
layout(constant_id = 9) const uint X_UNIFORM_VEC4 = 1;
layout(std140, set = 0, binding = X_UNIFORM_BINDING) uniform XUniform { u64vec2 x_uniform[X_UNIFORM_VEC4]; };

#if defined(X_F16)
layout(set = 0, binding = X_WORDS_BINDING) readonly buffer XWords { uint64_t x_words[]; };
vec4 x_vec4(uint i) {
  const uint64_t word = X_UNIFORM != 0 ? x_uniform[i / 2][i % 2] : x_words[i];
  const uvec2 w = unpackUint2x32(word);
  return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
}
#else
layout(set = 0, binding = X_WORDS_BINDING) readonly buffer XWords { u64vec2 x_words[]; };
vec4 x_vec4(uint i) {
  const u64vec2 w = X_UNIFORM != 0 ? x_uniform[i] : x_words[i];
  return uintBitsToFloat(uvec4(unpackUint2x32(w.x), unpackUint2x32(w.y)));
}
#endif
