#pragma once
// Deterministic data for the op cases: a small counter-based generator (the same numbers on
// every platform and standard library) and helpers that add inputs and weights to a CaseGraph.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/testing/op_cases.h"

namespace vkgraph::testing {

// splitmix64: tiny, well mixed, and fully specified, so case data never depends on <random>.
class CaseRng {
 public:
  explicit CaseRng(uint64_t seed) : state_(seed) {}
  explicit CaseRng(std::string_view name);  // seeded from a hash of the case name
  uint64_t next();
  float uniform(float lo, float hi);  // [lo, hi)
  int32_t below(int32_t n);           // [0, n)
  std::vector<float> floats(size_t n, float lo = -1.0f, float hi = 1.0f);

 private:
  uint64_t state_;
};

// An input leaf with its host data (f32 values stored as `dtype`: f32 or f16).
TensorId add_float_input(CaseGraph& c, const std::string& name, DType dtype, const Shape& shape,
                         const std::vector<float>& values);
TensorId add_i32_input(CaseGraph& c, const std::string& name, const std::vector<int32_t>& values);

// Frequency factors like Llama 3.1's: 1 on the highest frequencies rising to 8 on the lowest,
// [n_rot / 2].
TensorId add_freq_factors(CaseGraph& c, int32_t n_rot);

// A weight made on `backend` from f32 values, quantized row by row to `dtype`.
TensorId add_weight(CaseGraph& c, Backend& backend, const std::string& name, DType dtype, const Shape& shape,
                    const std::vector<float>& values);

// A state tensor on `backend` holding `values` converted to `dtype` (f32 or f16).
TensorId add_state(CaseGraph& c, Backend& backend, const std::string& name, DType dtype, const Shape& shape,
                   const std::vector<float>& values);

// Each of `results` read back through a scale by 1 (exact), which stays the only output: a
// result marked as an output itself keeps a buffer of its own and would not be fused.
void add_outputs_read_through_scale(CaseGraph& c, const std::vector<TensorId>& results);

// Bytes of `values` in `dtype`, converted row by row (rows of `row` elements).
std::vector<std::byte> encode(DType dtype, const std::vector<float>& values, size_t row);

}  // namespace vkgraph::testing
