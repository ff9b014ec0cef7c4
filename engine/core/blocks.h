#pragma once
// The byte layout of one block of every type in weight_types.def: GGUF's (ggml-common.h's)
// layouts, which the files use. Scales marked "f16 bits" are IEEE half floats; all fields are
// little-endian. `elements` is the number of values a block holds.

#include <cstddef>
#include <cstdint>

namespace vkgraph {

// ---- plain types: one element a "block" ----
struct BlockF32 {
  static constexpr size_t elements = 1;
  float value;
};
struct BlockF16 {
  static constexpr size_t elements = 1;
  uint16_t bits;
};
struct BlockI32 {
  static constexpr size_t elements = 1;
  int32_t value;
};
// bfloat16: the upper 16 bits of an f32.
struct BlockBF16 {
  static constexpr size_t elements = 1;
  uint16_t bits;
};

// ---- 32-element blocks ----

// Q8_0: w = d * q, q in [-128, 127].
struct BlockQ8_0 {
  static constexpr size_t elements = 32;
  uint16_t d;  // f16 bits
  int8_t qs[32];
};

// Q4_0: w = d * (q - 8), q in [0, 15]. Byte i holds weight i in its low nibble and weight i + 16
// in its high nibble.
struct BlockQ4_0 {
  static constexpr size_t elements = 32;
  uint16_t d;  // f16 bits
  uint8_t qs[16];
};

// Q4_1: w = d * q + m, q in [0, 15], nibbles as Q4_0.
struct BlockQ4_1 {
  static constexpr size_t elements = 32;
  uint16_t d;  // f16 bits
  uint16_t m;  // f16 bits
  uint8_t qs[16];
};

// Q5_0: w = d * (q - 16), q in [0, 31]: the low 4 bits as Q4_0's nibbles, bit 4 of weight j in
// bit j of qh (a little-endian u32 stored as 4 bytes, so the block is only 2-byte aligned).
struct BlockQ5_0 {
  static constexpr size_t elements = 32;
  uint16_t d;  // f16 bits
  uint8_t qh[4];
  uint8_t qs[16];
};

// Q5_1: w = d * q + m, q in [0, 31], bits as Q5_0.
struct BlockQ5_1 {
  static constexpr size_t elements = 32;
  uint16_t d;  // f16 bits
  uint16_t m;  // f16 bits
  uint8_t qh[4];
  uint8_t qs[16];
};

// IQ4_NL: w = d * kIq4Values[q], q in [0, 15], nibbles as Q4_0.
struct BlockIQ4_NL {
  static constexpr size_t elements = 32;
  uint16_t d;  // f16 bits
  uint8_t qs[16];
};

// The 16 non-linear levels of IQ4_NL and IQ4_XS (ggml-common.h kvalues_iq4nl).
inline constexpr int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// ---- 256-element super-blocks (the K-quants and IQ4_XS) ----

// Q2_K: 16 sub-blocks of 16. Sub-block j: w = d * (scales[j] & 15) * q - dmin * (scales[j] >> 4),
// q in [0, 3]. qs: two halves of 128 weights, 32 bytes each; within a half, weight 32 * s + l
// (s = 0..3) is bits 2s..2s+1 of byte l.
struct BlockQ2_K {
  static constexpr size_t elements = 256;
  uint8_t scales[16];  // low nibble: scale, high nibble: min
  uint8_t qs[64];
  uint16_t d;     // f16 bits
  uint16_t dmin;  // f16 bits
};

// Q3_K: 16 sub-blocks of 16. Sub-block j: w = d * (s_j - 32) * (q - 4), q in [0, 7] with its low
// two bits in qs (laid out as Q2_K's) and its high bit in hmask: weight i's bit is bit (i / 32)
// of hmask[i % 32]. s_j is 6 bits: its low nibble is in scales[j % 8] (low nibble for j < 8,
// high for j >= 8), its top two bits are bits 2 * (j / 4) of scales[8 + j % 4].
struct BlockQ3_K {
  static constexpr size_t elements = 256;
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  uint16_t d;  // f16 bits
};

// Q4_K: 8 sub-blocks of 32. Sub-block j: w = d * sc_j * q - dmin * m_j, q in [0, 15]; sc_j and m_j
// are 6 bits packed in `scales` (see k_scale_min). qs: four groups of 64 weights, 32 bytes each;
// weight 64 * g + l is the low nibble of byte 32 * g + l, weight 64 * g + 32 + l its high nibble.
struct BlockQ4_K {
  static constexpr size_t elements = 256;
  uint16_t d;     // f16 bits
  uint16_t dmin;  // f16 bits
  uint8_t scales[12];
  uint8_t qs[128];
};

// Q5_K: Q4_K with a fifth bit: weight 64 * g + l takes bit 2g of qh[l] as 16, weight
// 64 * g + 32 + l bit 2g + 1.
struct BlockQ5_K {
  static constexpr size_t elements = 256;
  uint16_t d;     // f16 bits
  uint16_t dmin;  // f16 bits
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};

// Q6_K: 16 sub-blocks of 16. Sub-block j: w = d * scales[j] * (q - 32), q in [0, 63]. Two halves
// of 128 weights; in half h, weight 128h + 32s + l (s = 0..3, l = 0..31) has its low nibble in
// ql[64h + l + 32 * (s & 1)] (low nibble for s < 2, high for s >= 2) and its top two bits at
// bits 2s..2s+1 of qh[32h + l].
struct BlockQ6_K {
  static constexpr size_t elements = 256;
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;  // f16 bits
};

// IQ4_XS: 8 sub-blocks of 32. Sub-block j: w = d * (ls_j - 32) * kIq4Values[q], with ls_j 6 bits:
// its low nibble in scales_l[j / 2] (low nibble for even j), its top two bits at bits 2j..2j+1
// of scales_h. qs: 16 bytes per sub-block, nibbles as IQ4_NL.
struct BlockIQ4_XS {
  static constexpr size_t elements = 256;
  uint16_t d;  // f16 bits
  uint16_t scales_h;
  uint8_t scales_l[4];
  uint8_t qs[128];
};

// Q4_K and Q5_K's 6-bit scale and min of sub-block j (0..7) from their 12 packed bytes: for
// j < 4 the low 6 bits of bytes j and j + 4; for j >= 4 the nibbles of byte j + 4 with the top
// two bits of bytes j - 4 (scale) and j (min).
inline void k_scale_min(const uint8_t* packed, int j, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = packed[j] & 63;
    *min = packed[j + 4] & 63;
  } else {
    *scale = uint8_t((packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4));
    *min = uint8_t((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
  }
}

}  // namespace vkgraph
