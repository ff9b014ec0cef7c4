#pragma once
// Each op family adds its cases to the one list (op_cases.cpp puts them together).

#include <vector>

#include "engine/testing/op_cases.h"

namespace vkgraph::testing {

void add_matmul_cases(std::vector<OpCase>& cases);           // matmul, get_rows
void add_low_rank_cases(std::vector<OpCase>& cases);         // matmul forms with low-rank (LoRA) tails
void add_position_cases(std::vector<OpCase>& cases);         // rope, attention, kv_write
void add_attention_sweep_cases(std::vector<OpCase>& cases);  // attention: head dims, GQA, lengths
void add_paged_attention_cases(std::vector<OpCase>& cases);  // paged_attention: blocks, tables, sharing
void add_elementwise_cases(std::vector<OpCase>& cases);      // norms, activations, arithmetic, softmax,
                                                             // argmax, convert, views

}  // namespace vkgraph::testing
