// The CPU reference ops against values computed by hand.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_floating_point.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <span>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/core/error.h"
#include "engine/core/fp16.h"
#include "engine/core/quant.h"
#include "engine/graph/freq_factors.h"
#include "engine/graph/plan.h"
#include "tests/closeness_checks.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

namespace {

cpu::CpuBackend& host() {
  static cpu::CpuBackend backend;
  return backend;
}

// A graph plus the host data of its inputs; run() returns each output as floats (i32 converted).
struct Runner {
  Graph g;
  std::vector<std::pair<TensorId, std::vector<std::byte>>> data;

  TensorId f32(const char* name, Shape shape, std::vector<float> v) {
    const TensorId id = g.input(name, DType::F32, std::move(shape));
    data.emplace_back(id, std::vector<std::byte>(v.size() * 4));
    std::memcpy(data.back().second.data(), v.data(), v.size() * 4);
    return id;
  }
  TensorId i32(const char* name, std::vector<int32_t> v) {
    const TensorId id = g.input(name, DType::I32, {int64_t(v.size())});
    data.emplace_back(id, std::vector<std::byte>(v.size() * 4));
    std::memcpy(data.back().second.data(), v.data(), v.size() * 4);
    return id;
  }
  TensorId weight(const char* name, DType type, Shape shape, const std::vector<float>& v) {
    const auto row = size_t(shape.back());
    std::vector<std::byte> bytes(v.size() / row * row_bytes(type, row));
    for (size_t r = 0; r < v.size() / row; ++r)
      quantize_row(type, v.data() + r * row, bytes.data() + r * row_bytes(type, row), row);
    return g.weight(name, type, std::move(shape), host().upload(bytes));
  }
  TensorId state(const char* name, DType type, Shape shape, const std::vector<float>& v) {
    const auto row = size_t(shape.back());
    std::vector<std::byte> bytes(v.size() / row * row_bytes(type, row));
    for (size_t r = 0; r < v.size() / row; ++r)
      quantize_row(type, v.data() + r * row, bytes.data() + r * row_bytes(type, row), row);
    auto storage = host().allocate_state(bytes.size());
    host().write_storage(*storage, 0, bytes);
    return g.state(name, type, std::move(shape), storage);
  }

  std::vector<float> run(TensorId out) { return run_all({out})[0]; }

  std::vector<std::vector<float>> run_all(const std::vector<TensorId>& outs) {
    for (TensorId o : outs) g.mark_output(o);
    const Plan plan = Plan::build(g);
    auto exe = host().prepare(plan);
    for (auto& [id, bytes] : data) exe->set_input(id, bytes);
    exe->run();
    std::vector<std::vector<float>> results;
    for (TensorId o : outs) {
      const Node& n = plan.graph().node(o);
      std::vector<std::byte> bytes(plan.location(o).bytes);
      exe->read_output(o, bytes);
      std::vector<float> v(size_t(element_count(n.shape)));
      for (size_t i = 0; i < v.size(); ++i) {
        if (n.dtype == DType::F32) std::memcpy(&v[i], bytes.data() + 4 * i, 4);
        if (n.dtype == DType::I32) {
          int32_t x;
          std::memcpy(&x, bytes.data() + 4 * i, 4);
          v[i] = float(x);
        }
        if (n.dtype == DType::F16) {
          uint16_t h;
          std::memcpy(&h, bytes.data() + 2 * i, 2);
          v[i] = half_to_float(h);
        }
      }
      results.push_back(std::move(v));
    }
    return results;
  }
};

}  // namespace

TEST_CASE("cpu rms_norm of [1, 2, 3] and its fused weight multiply", "[cpu]") {
  Runner r;
  const TensorId x = r.f32("x", {1, 3}, {1, 2, 3});
  const TensorId w = r.weight("w", DType::F32, {3}, {2, 0.5f, -1});
  const TensorId plain = r.g.rms_norm(x, 0.0f);
  const TensorId fused = r.g.mul(r.g.rms_norm(x, 1e-3f), w);
  const auto out = r.run_all({plain, fused});
  const double inv = 1.0 / std::sqrt(14.0 / 3.0);  // mean of squares 14/3
  CHECK_CLOSE(testing::value_close(out[0][0], 1 * inv, 0.0, 1e-6));
  CHECK_CLOSE(testing::value_close(out[0][1], 2 * inv, 0.0, 1e-6));
  CHECK_CLOSE(testing::value_close(out[0][2], 3 * inv, 0.0, 1e-6));
  const double inv_eps = 1.0 / std::sqrt(14.0 / 3.0 + 1e-3);
  CHECK_CLOSE(testing::value_close(out[1][0], 2 * inv_eps, 0.0, 1e-6));
  CHECK_CLOSE(testing::value_close(out[1][1], 1 * inv_eps, 0.0, 1e-6));
  CHECK_CLOSE(testing::value_close(out[1][2], -3 * inv_eps, 0.0, 1e-6));
}

TEST_CASE("cpu rope is the identity at position 0 and rotates pairs by pos * base^(-2i/n_rot)", "[cpu]") {
  const int n_rot = 4, d = 6;  // dimensions 4 and 5 pass through
  std::vector<float> x(2 * d);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i + 1);
  for (RopeMode mode : {RopeMode::normal, RopeMode::neox}) {
    Runner r;
    const TensorId in = r.f32("x", {2, 1, d}, x);
    const float scale = 0.5f, base = 100.0f;
    const std::vector<float> y = r.run(r.g.rope(in, r.i32("pos", {0, 3}), RopeParams{mode, n_rot, base, scale}));
    for (int i = 0; i < d; ++i) CHECK(y[size_t(i)] == x[size_t(i)]);  // position 0
    const float* x1 = x.data() + d;
    const float* y1 = y.data() + d;
    for (int k = 0; k < n_rot / 2; ++k) {
      const double theta = 3.0 * scale * std::pow(double(base), -2.0 * k / n_rot);
      const int i0 = mode == RopeMode::normal ? 2 * k : k;
      const int i1 = mode == RopeMode::normal ? 2 * k + 1 : k + n_rot / 2;
      CHECK_CLOSE(testing::value_close(y1[i0], x1[i0] * std::cos(theta) - x1[i1] * std::sin(theta), 1e-5));
      CHECK_CLOSE(testing::value_close(y1[i1], x1[i0] * std::sin(theta) + x1[i1] * std::cos(theta), 1e-5));
    }
    CHECK(y1[4] == x1[4]);
    CHECK(y1[5] == x1[5]);
  }
}

TEST_CASE("cpu rope with frequency factors divides pair k's angle by factor k (ggml's freq_factors)", "[cpu]") {
  // Llama 3.1's rope_freqs: theta_k = pos * freq_scale * base^(-2k/n_rot) / factor_k, in both
  // layouts, on the rope op and on keys attention rotates as it reads them.
  const int n_rot = 4, d = 6;
  const std::vector<float> factors = {1.0f, 8.0f};
  std::vector<float> x(d);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i + 1);
  for (RopeMode mode : {RopeMode::normal, RopeMode::neox}) {
    Runner r;
    const float scale = 0.5f, base = 100.0f;
    const TensorId f = r.weight("freq_factors", DType::F32, {n_rot / 2}, factors);
    const TensorId rope = r.g.rope(r.f32("x", {1, 1, d}, x), r.i32("pos", {7}), RopeParams{mode, n_rot, base, scale});
    const std::vector<float> y = r.run(with_freq_factors(r.g, rope, f));
    for (int k = 0; k < n_rot / 2; ++k) {
      const double theta = 7.0 * scale * std::pow(double(base), -2.0 * k / n_rot) / factors[size_t(k)];
      const int i0 = mode == RopeMode::normal ? 2 * k : k;
      const int i1 = mode == RopeMode::normal ? 2 * k + 1 : k + n_rot / 2;
      CHECK_THAT(y[size_t(i0)], WithinAbs(x[size_t(i0)] * std::cos(theta) - x[size_t(i1)] * std::sin(theta), 1e-5));
      CHECK_THAT(y[size_t(i1)], WithinAbs(x[size_t(i0)] * std::sin(theta) + x[size_t(i1)] * std::cos(theta), 1e-5));
    }
    CHECK(y[4] == x[4]);
    CHECK(y[5] == x[5]);
  }
  SECTION("a factor on a graph node that is neither rope nor key-rotating attention is refused") {
    Runner r;
    const TensorId f = r.weight("freq_factors", DType::F32, {n_rot / 2}, factors);
    const TensorId plain = r.g.add(r.f32("a", {2}, {1, 2}), r.f32("b", {2}, {3, 4}));
    CHECK_THROWS_WITH(with_freq_factors(r.g, plain, f), ContainsSubstring("neither a rope nor an attention"));
  }
}

TEST_CASE("cpu attention: one key returns v, causal masking, sliding window, GQA mapping", "[cpu]") {
  SECTION("a single visible key gives its value whatever the scores") {
    Runner r;
    const TensorId q = r.f32("q", {1, 1, 4}, {5, -3, 2, 7});
    const TensorId k = r.state("k", DType::F32, {1, 1, 4}, {1, 2, 3, 4});
    const TensorId v = r.state("v", DType::F32, {1, 1, 4}, {0.5f, -1.5f, 2.25f, 8});
    const auto y = r.run(r.g.attention(q, k, v, r.i32("qp", {9}), r.i32("kp", {4}), AttentionParams{1.0f, 0}));
    CHECK(y == std::vector<float>{0.5f, -1.5f, 2.25f, 8});
  }
  SECTION("causal: a query sees slots with kv_pos <= q_pos and >= 0, weighted by softmax") {
    Runner r;
    // Slots hold positions 1, -1 (empty), 0. Query 0 is at position 0, query 1 at position 1.
    const TensorId q = r.f32("q", {2, 1, 2}, {1, 0, 1, 0});
    const TensorId k = r.state("k", DType::F32, {3, 1, 2}, {2, 0, 100, 0, 1, 0});
    const TensorId v = r.state("v", DType::F32, {3, 1, 2}, {10, 1, 1000, 1000, 20, 2});
    const auto y =
        r.run(r.g.attention(q, k, v, r.i32("qp", {0, 1}), r.i32("kp", {1, -1, 0}), AttentionParams{0.5f, 0}));
    CHECK_CLOSE(testing::value_close(y[0], 20.0, 1e-5));  // only slot 2 (position 0)
    CHECK_CLOSE(testing::value_close(y[1], 2.0, 1e-5));
    // Query 1 sees slots 0 and 2: scores 0.5*2 = 1 and 0.5*1 = 0.5.
    const double p0 = std::exp(1.0) / (std::exp(1.0) + std::exp(0.5)), p2 = 1.0 - p0;
    CHECK_CLOSE(testing::value_close(y[2], p0 * 10 + p2 * 20, 1e-4));
    CHECK_CLOSE(testing::value_close(y[3], p0 * 1 + p2 * 2, 1e-5));
  }
  SECTION("a window hides keys at q_pos - window or earlier; no visible key gives zeros") {
    Runner r;
    const TensorId q = r.f32("q", {2, 1, 1}, {1, 1});
    const TensorId k = r.state("k", DType::F32, {3, 1, 1}, {0, 0, 0});
    const TensorId v = r.state("v", DType::F32, {3, 1, 1}, {1, 2, 4});
    // Positions 3, 4, 5; query at 5 with window 2 sees 4 and 5 (equal scores: the mean).
    // The query at position 2 sees nothing.
    const auto y = r.run(r.g.attention(q, k, v, r.i32("qp", {5, 2}), r.i32("kp", {3, 4, 5}), AttentionParams{1.0f, 2}));
    CHECK_CLOSE(testing::value_close(y[0], 3.0, 1e-6));
    CHECK(y[1] == 0.0f);
  }
  SECTION("GQA: query head h reads kv head h / (n_head / n_kv_head)") {
    Runner r;
    const TensorId q = r.f32("q", {1, 4, 1}, {1, 1, 1, 1});
    const TensorId k = r.state("k", DType::F32, {1, 2, 1}, {1, 1});
    const TensorId v = r.state("v", DType::F32, {1, 2, 1}, {7, 9});
    const auto y = r.run(r.g.attention(q, k, v, r.i32("qp", {0}), r.i32("kp", {0}), AttentionParams{1.0f, 0}));
    CHECK(y == std::vector<float>{7, 7, 9, 9});
  }
}

TEST_CASE("cpu attention soft-caps scores: softcap * tanh(scale * q.k / softcap) before the softmax", "[cpu]") {
  Runner r;
  // Two keys with q.k = 4 and 1, scale 0.5 (scores 2 and 0.5), cap 1: capped scores tanh(2)
  // and tanh(0.5). Uncapped the weights would be e^2 : e^0.5 (0.82 : 0.18); capped 0.59 : 0.41.
  const TensorId q = r.f32("q", {1, 1, 1}, {1});
  const TensorId k = r.state("k", DType::F32, {2, 1, 1}, {4, 1});
  const TensorId v = r.state("v", DType::F32, {2, 1, 1}, {10, 20});
  AttentionParams params{0.5f, 0};
  params.softcap = 1.0f;
  const auto y = r.run(r.g.attention(q, k, v, r.i32("qp", {1}), r.i32("kp", {0, 1}), params));
  const double p0 = std::exp(std::tanh(2.0)) / (std::exp(std::tanh(2.0)) + std::exp(std::tanh(0.5)));
  CHECK_CLOSE(testing::value_close(y[0], p0 * 10 + (1 - p0) * 20, 1e-5));
}

TEST_CASE("cpu gelu (tanh form) and softcap by hand", "[cpu]") {
  Runner r;
  const TensorId x = r.f32("x", {4}, {-2, 0, 1, 100});
  const auto out = r.run_all({r.g.gelu(x), r.g.softcap(x, 30.0f)});
  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): gelu(1) = 0.841192 (erf's GELU: 0.841345),
  // gelu(-2) = -0.045402, gelu(0) = 0, gelu(100) = 100.
  CHECK_CLOSE(testing::value_close(out[0][0], -0.0454023, 1e-6));
  CHECK(out[0][1] == 0.0f);
  CHECK_CLOSE(testing::value_close(out[0][2], 0.8411920, 1e-6));
  CHECK_CLOSE(testing::value_close(out[0][3], 100.0, 1e-5));
  // 30 tanh(x / 30): nearly x for small x, 29.9237 for 100 (Gemma 2's final cap).
  CHECK_CLOSE(testing::value_close(out[1][2], 30.0 * std::tanh(1.0 / 30.0), 1e-6));
  CHECK_CLOSE(testing::value_close(out[1][3], 30.0 * std::tanh(100.0 / 30.0), 1e-5));
  CHECK_THROWS_WITH(r.g.softcap(x, 0.0f), ContainsSubstring("cap 0 must be positive"));
}

TEST_CASE("cpu Q4_0 and Q8_0 matmul equal the f32 matmul of the dequantized weights", "[cpu]") {
  const int n_out = 5, n_in = 64, m = 3;
  std::vector<float> w(n_out * n_in), x(m * n_in);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(float(i) * 0.37f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(float(i) * 0.11f);
  for (DType type : {DType::Q4_0, DType::Q8_0}) {
    std::vector<std::byte> packed(n_out * row_bytes(type, n_in));
    std::vector<float> dequant(w.size());
    for (int o = 0; o < n_out; ++o) {
      quantize_row(type, w.data() + o * n_in, packed.data() + o * row_bytes(type, n_in), n_in);
      dequantize_row(type, packed.data() + o * row_bytes(type, n_in), dequant.data() + o * n_in, n_in);
    }
    Runner r;
    const TensorId xin = r.f32("x", {m, n_in}, x);
    const TensorId yq = r.g.matmul(r.weight("wq", type, {n_out, n_in}, w), xin);
    const TensorId yf = r.g.matmul(r.weight("wf", DType::F32, {n_out, n_in}, dequant), xin);
    const auto out = r.run_all({yq, yf});
    CHECK(out[0] == out[1]);
    // And by hand for one element.
    double sum = 0;
    for (int k = 0; k < n_in; ++k) sum += double(x[size_t(n_in + k)]) * double(dequant[size_t(2 * n_in + k)]);
    CHECK_CLOSE(testing::value_close(out[0][1 * n_out + 2], sum, 0.0, 1e-6));
  }
}

TEST_CASE("cpu argmax takes the first index of the maximum", "[cpu]") {
  Runner r;
  const TensorId x = r.f32("x", {3, 4}, {1, 3, 3, 2, -5, -1, -1, -7, 0, 0, 0, 0});
  CHECK(r.run(r.g.argmax(x)) == std::vector<float>{1, 1, 0});
}

TEST_CASE("cpu softmax, silu, swiglu, broadcasting and get_rows by hand", "[cpu]") {
  Runner r;
  const TensorId x = r.f32("x", {2, 2}, {0, std::log(3.0f), 1, 1});
  const TensorId b = r.f32("b", {2}, {10, 20});
  // Two different rows, each different along its length: row 0 is (i + 1) / 64, row 1 is
  // -(i + 1) / 32, so a wrong row index, a wrong element offset inside a row or a wrong block
  // scale gives a different value.
  std::vector<float> table_values(64);
  for (size_t i = 0; i < 32; ++i) {
    table_values[i] = float(i + 1) / 64.0f;
    table_values[32 + i] = -float(i + 1) / 32.0f;
  }
  const TensorId table = r.weight("t", DType::Q8_0, {2, 32}, table_values);
  const auto out = r.run_all({r.g.softmax(x, 1.0f), r.g.silu(x), r.g.add(x, b), r.g.mul(x, b), r.g.swiglu(x, x),
                              r.g.get_rows(table, r.i32("ids", {1, 0, 1}))});
  CHECK_CLOSE(testing::value_close(out[0][0], 0.25, 1e-6));
  CHECK_CLOSE(testing::value_close(out[0][1], 0.75, 1e-6));
  CHECK_CLOSE(testing::value_close(out[0][2], 0.5, 1e-6));
  CHECK_CLOSE(testing::value_close(out[1][2], 1.0 / (1.0 + std::exp(-1.0)), 1e-6));
  CHECK(out[2] == std::vector<float>{10, 20 + std::log(3.0f), 11, 21});
  CHECK(out[3] == std::vector<float>{0, 20 * std::log(3.0f), 10, 20});
  CHECK_CLOSE(testing::value_close(out[4][3], 1.0 / (1.0 + std::exp(-1.0)), 1e-6));
  REQUIRE(out[5].size() == 96);
  // Q8_0 keeps each value within one step of its block (amax / 127): 0.5 / 127 for row 0,
  // 1 / 127 for row 1; neighbouring elements of a row differ by four steps and the rows by more.
  const std::vector<int> ids = {1, 0, 1};
  for (size_t row = 0; row < ids.size(); ++row) {
    const auto want = std::span(table_values).subspan(size_t(ids[row]) * 32, 32);
    const double step = ids[row] == 0 ? 0.5 / 127 : 1.0 / 127;
    INFO("get_rows output row " << row << " (table row " << ids[row] << ")");
    CHECK_CLOSE(testing::elementwise_close(std::span(out[5]).subspan(row * 32, 32), want, step));
  }
}

TEST_CASE("cpu softmax of a row with no finite score is zeros", "[cpu]") {
  // A row whose every score is masked to -inf has no distribution; every backend defines it as
  // zeros (the attention op's "no visible key" rule), where max-subtraction alone gives
  // -inf - (-inf) = NaN. A row with one finite score is that score's one-hot.
  Runner r;
  const float ninf = -std::numeric_limits<float>::infinity();
  const TensorId x = r.f32("x", {3, 3}, {ninf, ninf, ninf, ninf, 2.0f, ninf, 1.0f, 1.0f, ninf});
  const std::vector<float> y = r.run(r.g.softmax(x, 0.5f));
  CHECK(y == std::vector<float>{0, 0, 0, 0, 1, 0, 0.5f, 0.5f, 0});
}

TEST_CASE("cpu kv_write converts to the cache type and writes only the named slots", "[cpu]") {
  Runner r;
  const TensorId cache = r.state("cache", DType::F16, {4, 1, 2}, {1, 1, 2, 2, 3, 3, 4, 4});
  const TensorId src = r.f32("src", {2, 1, 2}, {0.1f, -7.5f, 65504.0f, 1e-8f});
  const auto y = r.run(r.g.kv_write(cache, src, r.i32("slots", {3, 1})));
  CHECK(y == std::vector<float>{1, 1, 65504.0f, 0.0f, 3, 3, half_to_float(float_to_half(0.1f)), -7.5f});
  // The state itself changed (the output above is a copy of it).
  std::vector<std::byte> bytes(16);
  host().read_storage(*r.g.node(cache).storage, 0, bytes);
  uint16_t h;
  std::memcpy(&h, bytes.data() + 12, 2);
  CHECK(h == float_to_half(0.1f));
}

TEST_CASE("cpu ops reject out-of-range ids and slots with the tensor's name", "[cpu]") {
  Runner r;
  const TensorId table = r.weight("tok_embd", DType::F32, {2, 4}, std::vector<float>(8, 1));
  const TensorId rows = r.g.get_rows(table, r.i32("tokens", {2}));
  r.g.mark_output(rows);
  const Plan plan = Plan::build(r.g);
  auto exe = host().prepare(plan);
  for (auto& [id, bytes] : r.data) exe->set_input(id, bytes);
  try {
    exe->run();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("tok_embd") != std::string::npos);
    CHECK(std::string(e.what()).find("id 2") != std::string::npos);
  }
}
