#include "engine/testing/case_data.h"

#include <cstring>

#include "engine/core/error.h"
#include "engine/core/quant.h"

namespace vkgraph::testing {

CaseRng::CaseRng(std::string_view name) : state_(0xcbf29ce484222325ull) {
  for (char ch : name) state_ = (state_ ^ uint8_t(ch)) * 0x100000001b3ull;  // FNV-1a
}

uint64_t CaseRng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

float CaseRng::uniform(float lo, float hi) {
  const double unit = double(next() >> 11) * (1.0 / 9007199254740992.0);  // 53 bits -> [0, 1)
  return float(lo + (hi - lo) * unit);
}

int32_t CaseRng::below(int32_t n) { return int32_t(next() % uint64_t(n)); }

std::vector<float> CaseRng::floats(size_t n, float lo, float hi) {
  std::vector<float> v(n);
  for (float& x : v) x = uniform(lo, hi);
  return v;
}

std::vector<std::byte> encode(DType dtype, const std::vector<float>& values, size_t row) {
  VKGRAPH_CHECK(row > 0 && values.size() % row == 0, "encode: {} values are not whole rows of {}", values.size(), row);
  const size_t stride = row_bytes(dtype, row);
  std::vector<std::byte> bytes(values.size() / row * stride);
  for (size_t r = 0; r < values.size() / row; ++r)
    quantize_row(dtype, values.data() + r * row, bytes.data() + r * stride, row);
  return bytes;
}

TensorId add_float_input(CaseGraph& c, const std::string& name, DType dtype, const Shape& shape,
                         const std::vector<float>& values) {
  VKGRAPH_CHECK(values.size() == size_t(element_count(shape)), "case input '{}': {} values for shape {}", name,
                values.size(), shape_string(shape));
  const TensorId id = c.graph.input(name, dtype, shape);
  c.inputs.emplace_back(id, encode(dtype, values, size_t(shape.back())));
  return id;
}

TensorId add_i32_input(CaseGraph& c, const std::string& name, const std::vector<int32_t>& values) {
  const TensorId id = c.graph.input(name, DType::I32, {int64_t(values.size())});
  std::vector<std::byte> bytes(values.size() * sizeof(int32_t));
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  c.inputs.emplace_back(id, std::move(bytes));
  return id;
}

TensorId add_weight(CaseGraph& c, Backend& backend, const std::string& name, DType dtype, const Shape& shape,
                    const std::vector<float>& values) {
  const std::vector<std::byte> bytes = encode(dtype, values, size_t(shape.back()));
  return c.graph.weight(name, dtype, shape, backend.upload(bytes));
}

TensorId add_state(CaseGraph& c, Backend& backend, const std::string& name, DType dtype, const Shape& shape,
                   const std::vector<float>& values) {
  const std::vector<std::byte> bytes = encode(dtype, values, size_t(shape.back()));
  std::shared_ptr<Storage> storage = backend.allocate_state(bytes.size());
  backend.write_storage(*storage, 0, bytes);
  return c.graph.state(name, dtype, shape, std::move(storage));
}

}  // namespace vkgraph::testing
