#pragma once
// Overflow-checked arithmetic for sizes read from untrusted files: each returns false instead of
// wrapping, so a hostile count or dimension can never turn into a small, wrong size.

#include <cstdint>

namespace vkgraph::gguf {

inline bool checked_add(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_add_overflow(a, b, &out); }
inline bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

// Rounds `value` up to a multiple of `alignment` (a power of two).
inline bool checked_align_up(uint64_t value, uint64_t alignment, uint64_t& out) {
  uint64_t bumped = 0;
  if (!checked_add(value, alignment - 1, bumped)) return false;
  out = bumped & ~(alignment - 1);
  return true;
}

inline bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace vkgraph::gguf
