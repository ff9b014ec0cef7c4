#include "engine/testing/case_data.h"

#include <cstring>
#include <mutex>
#include <unordered_map>

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

namespace {

// Each quantized weight is encoded once per process. A case is built once per backend it runs
// on, and the kernel tests run the matmul cases once per forced variant: re-encoding every time
// would make the K-quant and IQ4 quantizers (a scale search per sub-block) the largest cost of
// the op suite. The key is the type, the row length, the count and two independent 64-bit
// hashes of the values (a collision between two of the few thousand weights is out of reach);
// only the encoded bytes are kept (about 130 MB for the whole suite).
struct WeightKey {
  DType dtype;
  size_t row, count;
  uint64_t fnv, mix;
  friend bool operator==(const WeightKey&, const WeightKey&) = default;
};
struct WeightKeyHash {
  size_t operator()(const WeightKey& k) const { return size_t(k.fnv ^ k.mix); }
};

const std::vector<std::byte>& encode_weight(DType dtype, const std::vector<float>& values, size_t row) {
  static std::mutex mutex;
  static std::unordered_map<WeightKey, std::vector<std::byte>, WeightKeyHash> cache;
  WeightKey key{dtype, row, values.size(), 0xcbf29ce484222325ull, 0x9e3779b97f4a7c15ull};
  for (const float v : values) {
    uint32_t bits = 0;
    std::memcpy(&bits, &v, 4);
    key.fnv = (key.fnv ^ bits) * 0x100000001b3ull;  // FNV-1a over 32-bit words
    key.mix = (key.mix ^ bits) * 0xbf58476d1ce4e5b9ull;
    key.mix ^= key.mix >> 31;
  }
  std::lock_guard lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, encode(dtype, values, row)).first;
  return it->second;
}

}  // namespace

TensorId add_freq_factors(CaseGraph& c, int32_t n_rot) {
  std::vector<float> factors(size_t(n_rot / 2));
  for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + 7.0f * float(i) / float(factors.size());
  return add_float_input(c, "freq_factors", DType::F32, {n_rot / 2}, factors);
}

TensorId add_weight(CaseGraph& c, Backend& backend, const std::string& name, DType dtype, const Shape& shape,
                    const std::vector<float>& values) {
  if (!dtype_info(dtype).quantized) {
    return c.graph.weight(name, dtype, shape, backend.upload(encode(dtype, values, size_t(shape.back()))));
  }
  const std::vector<std::byte>& bytes = encode_weight(dtype, values, size_t(shape.back()));
  return c.graph.weight(name, dtype, shape, backend.upload(bytes));
}

TensorId add_state(CaseGraph& c, Backend& backend, const std::string& name, DType dtype, const Shape& shape,
                   const std::vector<float>& values) {
  const std::vector<std::byte> bytes = encode(dtype, values, size_t(shape.back()));
  std::shared_ptr<Storage> storage = backend.allocate_state(bytes.size());
  backend.write_storage(*storage, 0, bytes);
  return c.graph.state(name, dtype, shape, std::move(storage));
}

void add_outputs_read_through_scale(CaseGraph& c, const std::vector<TensorId>& results) {
  for (TensorId result : results) {
    const TensorId read = c.graph.scale(result, 1.0f);
    c.graph.mark_output(read);
    c.outputs.push_back(read);
  }
}

}  // namespace vkgraph::testing
