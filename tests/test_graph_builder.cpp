// The graph builder: shape and type inference, and errors that name the op and the shapes.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/graph/graph.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

std::shared_ptr<Storage> zeros(size_t bytes) {
  static cpu::CpuBackend backend;
  return backend.upload(std::vector<std::byte>(bytes));
}

TensorId weight(Graph& g, const char* name, DType type, Shape shape) {
  const size_t rows = size_t(element_count(shape) / shape.back());
  return g.weight(name, type, shape, zeros(rows * row_bytes(type, size_t(shape.back()))));
}

}  // namespace

TEST_CASE("builder infers the shapes and types of every op", "[graph]") {
  Graph g;
  const TensorId tokens = g.input("tokens", DType::I32, {7});
  const TensorId pos = g.input("pos", DType::I32, {7});
  const TensorId kv_pos = g.input("kv_pos", DType::I32, {16});
  const TensorId embd = weight(g, "embd", DType::Q4_0, {100, 64});
  const TensorId x = g.get_rows(embd, tokens);
  CHECK(g.node(x).shape == Shape{7, 64});
  CHECK(g.node(x).dtype == DType::F32);

  const TensorId wq = weight(g, "wq", DType::Q8_0, {96, 64});
  const TensorId q = g.matmul(wq, g.rms_norm(x, 1e-5f));
  CHECK(g.node(q).shape == Shape{7, 96});
  CHECK(g.node(q).dtype == DType::F32);
  const TensorId q3 = g.reshape(q, {7, 6, 16});
  CHECK(g.node(q3).op == OpKind::view);
  const TensorId qr = g.rope(q3, pos, RopeParams{RopeMode::neox, 8, 10000.0f, 1.0f});
  CHECK(g.node(qr).shape == Shape{7, 6, 16});

  const TensorId cache = g.state("cache", DType::F16, {16, 2, 16}, zeros(16 * 2 * 16 * 2));
  const TensorId k_new = g.input("k", DType::F32, {7, 2, 16});
  const TensorId written = g.kv_write(cache, k_new, pos);
  CHECK(g.node(written).shape == Shape{16, 2, 16});
  CHECK(g.node(written).dtype == DType::F16);
  const TensorId att = g.attention(qr, written, written, pos, kv_pos, AttentionParams{0.25f, 0});
  CHECK(g.node(att).shape == Shape{7, 6, 16});

  const TensorId flat = g.reshape(att, {7, 96});
  const TensorId last = g.rows(flat, 6, 1);
  CHECK(g.node(last).shape == Shape{1, 96});
  CHECK(g.node(last).params.view_offset == 6 * 96);
  const TensorId ids = g.argmax(last);
  CHECK(g.node(ids).shape == Shape{1});
  CHECK(g.node(ids).dtype == DType::I32);
  CHECK(g.node(g.convert(last, DType::F16)).dtype == DType::F16);
  CHECK(g.node(g.add(flat, g.input("bias", DType::F32, {96}))).shape == Shape{7, 96});
  CHECK(g.node(g.swiglu(flat, flat)).shape == Shape{7, 96});
  CHECK(g.node(g.softmax(flat, 0.5f)).params.scale == 0.5f);
  const TensorId x16 = g.input("x16", DType::F16, {3, 64});
  CHECK(g.node(g.matmul(wq, x16)).shape == Shape{3, 96});
}

TEST_CASE("builder errors name the op and both shapes", "[graph]") {
  Graph g;
  const TensorId w = weight(g, "w", DType::F32, {64, 32});
  const TensorId x = g.input("x", DType::F32, {7, 33});
  REQUIRE_THROWS_WITH(g.matmul(w, x),
                      ContainsSubstring("matmul") && ContainsSubstring("[64, 32]") && ContainsSubstring("[7, 33]"));

  const TensorId a = g.input("a", DType::F32, {7, 33});
  const TensorId b = g.input("b", DType::F32, {32});
  REQUIRE_THROWS_WITH(g.add(a, b),
                      ContainsSubstring("add") && ContainsSubstring("[7, 33]") && ContainsSubstring("[32]"));
  REQUIRE_THROWS_WITH(g.mul(b, a),
                      ContainsSubstring("mul") && ContainsSubstring("[32]") && ContainsSubstring("[7, 33]"));

  const TensorId up = g.input("up", DType::F32, {7, 32});
  REQUIRE_THROWS_WITH(g.swiglu(a, up),
                      ContainsSubstring("swiglu") && ContainsSubstring("[7, 33]") && ContainsSubstring("[7, 32]"));

  const TensorId q = g.input("q", DType::F32, {1, 4, 64});
  const TensorId k = g.input("k", DType::F32, {8, 2, 32});
  const TensorId pos = g.input("pos", DType::I32, {1});
  const TensorId kv_pos = g.input("kv_pos", DType::I32, {8});
  REQUIRE_THROWS_WITH(g.attention(q, k, k, pos, kv_pos, {}), ContainsSubstring("attention") &&
                                                                 ContainsSubstring("[1, 4, 64]") &&
                                                                 ContainsSubstring("[8, 2, 32]"));
  const TensorId k3 = g.input("k3", DType::F32, {8, 3, 64});
  REQUIRE_THROWS_WITH(g.attention(q, k3, k3, pos, kv_pos, {}), ContainsSubstring("attention") &&
                                                                   ContainsSubstring("n_head 4") &&
                                                                   ContainsSubstring("n_kv_head 3"));

  REQUIRE_THROWS_WITH(g.reshape(a, {7, 32}),
                      ContainsSubstring("reshape") && ContainsSubstring("[7, 33]") && ContainsSubstring("[7, 32]"));
  REQUIRE_THROWS_WITH(g.rows(a, 5, 3), ContainsSubstring("rows") && ContainsSubstring("[7, 33]"));
  REQUIRE_THROWS_WITH(g.rope(q, pos, RopeParams{RopeMode::normal, 65, 10000.0f, 1.0f}),
                      ContainsSubstring("rope") && ContainsSubstring("n_rot 65"));
  REQUIRE_THROWS_WITH(g.rope(q, kv_pos, RopeParams{RopeMode::normal, 64, 10000.0f, 1.0f}),
                      ContainsSubstring("rope") && ContainsSubstring("i32 [1]"));
}

TEST_CASE("builder rejects quantized rows that are not whole blocks and misused leaves", "[graph]") {
  Graph g;
  REQUIRE_THROWS_WITH(g.weight("w", DType::Q4_0, {4, 48}, zeros(4 * 48)),
                      ContainsSubstring("'w'") && ContainsSubstring("q4_0") && ContainsSubstring("multiple of 32"));
  REQUIRE_THROWS_WITH(g.weight("small", DType::F32, {4, 8}, zeros(16)),
                      ContainsSubstring("'small'") && ContainsSubstring("128 needed"));
  const TensorId x = g.input("x", DType::F32, {1, 8});
  REQUIRE_THROWS_WITH(g.mark_output(x), ContainsSubstring("mark_output") && ContainsSubstring("leaf"));
  const TensorId not_state = g.input("cache", DType::F16, {4, 1, 8});
  const TensorId src = g.input("src", DType::F32, {1, 1, 8});
  const TensorId slots = g.input("slots", DType::I32, {1});
  REQUIRE_THROWS_WITH(g.kv_write(not_state, src, slots), ContainsSubstring("kv_write") && ContainsSubstring("state"));
  REQUIRE_THROWS_WITH(g.convert(g.input("ids", DType::I32, {3}), DType::F32), ContainsSubstring("convert"));
}
