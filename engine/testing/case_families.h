#pragma once
// Each op family adds its cases to the one list (op_cases.cpp puts them together).

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/testing/op_cases.h"

namespace vkgraph::testing {

// Every weight type of the table (engine/core/weight_types.def), in its order: the families that
// take a weight run their cases for each.
std::vector<DType> weight_types();

// A row length in blocks of the weight type, or (elements) a fixed number of elements that is a
// multiple of every block size.
struct RowLength {
  int64_t count;
  bool elements = false;
};
constexpr RowLength blocks(int64_t n) { return {n, false}; }
constexpr RowLength elements(int64_t n) { return {n, true}; }

// Plain types (one-element "blocks") count in units of 32 like the 32-element block types, which
// keeps the shapes that are not a multiple of the kernels' tiles.
inline int64_t in_elements(DType type, RowLength n) {
  return n.elements ? n.count : n.count * std::max<int64_t>(int64_t(dtype_info(type).block_elements), 32);
}

void add_matmul_cases(std::vector<OpCase>& cases);           // matmul, get_rows
void add_low_rank_cases(std::vector<OpCase>& cases);         // matmul forms with low-rank (LoRA) tails
void add_add_norm_cases(std::vector<OpCase>& cases);         // matmul_add, then rms_norm_mul of its result
void add_cat_rope_cases(std::vector<OpCase>& cases);         // q/k/v products, their rope and cache writes
void add_position_cases(std::vector<OpCase>& cases);         // rope, attention, kv_write
void add_attention_sweep_cases(std::vector<OpCase>& cases);  // attention: head dims, GQA, lengths
void add_paged_attention_cases(std::vector<OpCase>& cases);  // paged_attention: blocks, tables, sharing
void add_elementwise_cases(std::vector<OpCase>& cases);      // norms, activations, arithmetic, softmax,
                                                             // argmax, convert, views

}  // namespace vkgraph::testing
