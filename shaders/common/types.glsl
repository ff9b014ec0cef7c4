// Storage types shared by every kernel.
//
// Tensors are bound as storage buffers at offsets aligned down to the device's
// minStorageBufferOffsetAlignment; the remainder reaches the shader as an element offset in the
// push constants (the `*_off` fields), so a view at any element can be bound.
//
// F16 data is read and written through float16_t with GL_EXT_shader_16bit_storage (load, store
// and conversion only: no half arithmetic, so devices without shaderFloat16 run these kernels).
// Quantized blocks are 34 or 18 bytes, so they are not 4-byte aligned; they are read as
// uint16_t words, which every block boundary is aligned to.
#extension GL_EXT_shader_16bit_storage : require

// The element type of a float tensor, chosen by a variant's #define (e.g. X_F16).
#define F32_T float
#define F16_T float16_t

// -infinity, for running maxima (a literal 1/0 is folded differently by compilers).
float neg_inf() { return uintBitsToFloat(0xff800000u); }
