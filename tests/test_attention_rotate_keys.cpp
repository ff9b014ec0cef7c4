// attention with rotate_keys (keys stored unrotated, rotated at kv_pos when read) on the CPU
// reference equals an explicit rope of the cache followed by plain attention; the builder
// refuses key_rope parameters the rope op would refuse.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/core/error.h"
#include "engine/graph/plan.h"
#include "engine/testing/case_data.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

struct RotateCase {
  int64_t m, n_head, n_kv_head, head_dim, n_slots;
  int32_t n_rot;
  RopeMode mode;
  int32_t window;
};

// Runs q against k/v on the CPU, either with rotate_keys or with rope(k, kv_pos) first.
std::vector<float> run_attention(const RotateCase& c, bool fused) {
  testing::CaseRng rng(uint64_t(c.head_dim * 7919 + c.n_rot * 31 + c.n_slots));
  const std::vector<float> q = rng.floats(size_t(c.m * c.n_head * c.head_dim));
  const std::vector<float> k = rng.floats(size_t(c.n_slots * c.n_kv_head * c.head_dim));
  const std::vector<float> v = rng.floats(k.size());
  // Slots hold positions in reverse order, the last slot is empty, queries are the last positions.
  std::vector<int32_t> kv_pos(size_t(c.n_slots));
  for (int64_t j = 0; j < c.n_slots; ++j) kv_pos[size_t(j)] = int32_t(c.n_slots - 2 - j);
  std::vector<int32_t> q_pos(size_t(c.m));
  for (int64_t i = 0; i < c.m; ++i) q_pos[size_t(i)] = int32_t(c.n_slots - 1 - c.m + i);

  testing::CaseGraph g;
  const TensorId tq = testing::add_float_input(g, "q", DType::F32, {c.m, c.n_head, c.head_dim}, q);
  TensorId tk = testing::add_float_input(g, "k", DType::F32, {c.n_slots, c.n_kv_head, c.head_dim}, k);
  const TensorId tv = testing::add_float_input(g, "v", DType::F32, {c.n_slots, c.n_kv_head, c.head_dim}, v);
  const TensorId tq_pos = testing::add_i32_input(g, "q_pos", q_pos);
  const TensorId tkv_pos = testing::add_i32_input(g, "kv_pos", kv_pos);
  const RopeParams rope{c.mode, c.n_rot, 10000.0f, 0.5f};
  AttentionParams params;
  params.scale = 1.0f / std::sqrt(float(c.head_dim));
  params.window = c.window;
  if (fused) {
    params.rotate_keys = true;
    params.key_rope = rope;
  } else {
    tk = g.graph.rope(tk, tkv_pos, rope);
  }
  const TensorId out = g.graph.attention(tq, tk, tv, tq_pos, tkv_pos, params);
  g.graph.mark_output(out);

  cpu::CpuBackend backend;
  const Plan plan = Plan::build(std::move(g.graph));
  auto exe = backend.prepare(plan);
  for (const auto& [id, bytes] : g.inputs) exe->set_input(id, bytes);
  exe->run();
  std::vector<float> result(size_t(c.m * c.n_head * c.head_dim));
  exe->read_output(out, std::as_writable_bytes(std::span(result)));
  return result;
}

}  // namespace

TEST_CASE("attention rotate_keys equals rope then attention on the CPU", "[attention][cpu]") {
  const RotateCase cases[] = {
      {1, 8, 4, 8, 40, 8, RopeMode::normal, 0},    // stories260K's heads, decode
      {7, 4, 2, 64, 65, 64, RopeMode::neox, 0},    // prefill, GQA
      {5, 6, 3, 80, 33, 32, RopeMode::normal, 8},  // partial rotation, window
      {3, 8, 1, 128, 100, 96, RopeMode::neox, 0},  // MQA, partial neox rotation
  };
  for (const RotateCase& c : cases) {
    CAPTURE(c.head_dim, c.n_rot, int(c.mode), c.window);
    const std::vector<float> fused = run_attention(c, true);
    const std::vector<float> explicit_rope = run_attention(c, false);
    // The same rotation code on the same f32 keys: bit-identical.
    REQUIRE(fused == explicit_rope);
    // And the rotation matters: without it the outputs differ.
    RotateCase identity = c;
    identity.n_rot = 2;  // barely rotated
    REQUIRE(run_attention(identity, true) != fused);
  }
}

TEST_CASE("attention refuses invalid key_rope parameters", "[attention][graph]") {
  Graph g;
  const TensorId q = g.input("q", DType::F32, {2, 4, 16});
  const TensorId k = g.input("k", DType::F32, {8, 2, 16});
  const TensorId v = g.input("v", DType::F32, {8, 2, 16});
  const TensorId q_pos = g.input("q_pos", DType::I32, {2});
  const TensorId kv_pos = g.input("kv_pos", DType::I32, {8});
  AttentionParams p;
  p.rotate_keys = true;
  p.key_rope = RopeParams{RopeMode::normal, 17, 10000.0f, 1.0f};
  REQUIRE_THROWS_WITH(g.attention(q, k, v, q_pos, kv_pos, p), ContainsSubstring("n_rot 17"));
  p.key_rope.n_rot = 32;
  REQUIRE_THROWS_WITH(g.attention(q, k, v, q_pos, kv_pos, p), ContainsSubstring("at most head_dim 16"));
  p.key_rope.n_rot = 16;
  p.key_rope.freq_base = 0.0f;
  REQUIRE_THROWS_WITH(g.attention(q, k, v, q_pos, kv_pos, p), ContainsSubstring("must be positive"));
  p.key_rope.freq_base = 10000.0f;
  REQUIRE(g.attention(q, k, v, q_pos, kv_pos, p).valid());
  // Without rotate_keys the key_rope parameters are not looked at.
  p.rotate_keys = false;
  p.key_rope.n_rot = 0;
  REQUIRE(g.attention(q, k, v, q_pos, kv_pos, p).valid());
}
