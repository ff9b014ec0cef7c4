// rope, attention and kv_write cases: both rope layouts with partial rotation, frequency
// scaling and frequency factors (Llama 3.1's rope_freqs); attention with MHA/GQA/MQA, causal and sliding-window masks,
// f16 and f32 caches, partially filled caches (kv_pos = -1), decode (m = 1) and prefill (m > 1).

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "engine/graph/freq_factors.h"
#include "engine/testing/case_data.h"
#include "engine/testing/case_families.h"

namespace vkgraph::testing {
namespace {

// Positions reach 4095: theta = pos * base^(-2i/n_rot) computed in f32 is off by up to
// ~4096 * 2^-24 rad, and Vulkan only promises sin/cos to 2^-11 absolute, which bounds NMSE by
// ~1e-6. A wrong pair layout or frequency gives NMSE of order 1, far above 1e-5.
constexpr double rope_nmse = 1e-5;

// Scores and sums in f32 instead of double: NMSE ~1e-12. Room is left for P or V staged as f16
// in shared memory (~1e-7). One wrongly masked key shifts an output by ~1/n_visible of its
// size: NMSE >= 1e-4 even for the largest cache here.
constexpr double attention_nmse = 1e-6;

// The cache is compared whole after the write: f32 rows are copied, f16 rows are rounded to
// nearest even on both sides. Bit-exact but for f16 subnormals a device may flush.
constexpr double kv_write_nmse = 1e-12;

// Slot -> position of a cache holding positions [first, first + n_filled) in shuffled slots;
// other slots are empty (-1).
std::vector<int32_t> shuffled_positions(CaseRng& rng, int64_t n_slots, int64_t n_filled, int32_t first) {
  std::vector<int32_t> slots(static_cast<size_t>(n_slots));
  std::iota(slots.begin(), slots.end(), 0);
  for (size_t i = slots.size(); i > 1; --i) std::swap(slots[i - 1], slots[size_t(rng.below(int32_t(i)))]);
  std::vector<int32_t> kv_pos(size_t(n_slots), -1);
  for (int64_t p = 0; p < n_filled; ++p) kv_pos[size_t(slots[size_t(p)])] = first + int32_t(p);
  return kv_pos;
}

void add_rope_cases(std::vector<OpCase>& cases) {
  struct RopeShape {
    int64_t m, n_head, head_dim;
    int32_t n_rot;
    float base, freq_scale;
    bool factors = false;  // frequency factors (engine/graph/freq_factors.h)
  };
  const RopeShape shapes[] = {
      {1, 1, 2, 2, 10000.0f, 1.0f},
      {1, 32, 128, 128, 10000.0f, 1.0f},
      {7, 3, 64, 64, 10000.0f, 0.25f},
      {5, 4, 64, 32, 10000.0f, 1.0f},
      {3, 2, 80, 16, 1000000.0f, 1.0f},
      {33, 8, 128, 128, 1000000.0f, 0.5f},
      {64, 8, 128, 128, 500000.0f, 1.0f},
      {17, 5, 8, 8, 10000.0f, 1.0f},
      // Llama 3.1's shape with factors, and partial rotation with them.
      {9, 4, 128, 128, 500000.0f, 1.0f, true},
      {5, 4, 64, 32, 10000.0f, 0.5f, true},
  };
  for (RopeMode mode : {RopeMode::normal, RopeMode::neox}) {
    for (const RopeShape& s : shapes) {
      OpCase c;
      c.name = fmt::format("rope {} m={} n_head={} head_dim={} n_rot={} base={} freq_scale={}{}",
                           mode == RopeMode::normal ? "normal" : "neox", s.m, s.n_head, s.head_dim, s.n_rot, s.base,
                           s.freq_scale, s.factors ? " freq_factors" : "");
      c.op = "rope";
      c.max_nmse = rope_nmse;
      c.build = [name = c.name, mode, s](Backend&) {
        CaseRng rng(name);
        CaseGraph g;
        const TensorId x = add_float_input(g, "x", DType::F32, {s.m, s.n_head, s.head_dim},
                                           rng.floats(size_t(s.m * s.n_head * s.head_dim)));
        std::vector<int32_t> pos(size_t(s.m));
        for (int32_t& p : pos) p = rng.below(4096);
        pos.front() = s.m > 1 ? 0 : 4095;
        RopeParams params{mode, s.n_rot, s.base, s.freq_scale};
        const TensorId factors = s.factors ? add_freq_factors(g, s.n_rot) : TensorId{};
        const TensorId y = with_freq_factors(g.graph, g.graph.rope(x, add_i32_input(g, "pos", pos), params), factors);
        g.graph.mark_output(y);
        g.outputs.push_back(y);
        return g;
      };
      cases.push_back(std::move(c));
    }
  }
}

struct AttentionShape {
  int64_t m, n_head, n_kv_head, head_dim, n_slots, n_filled;
  int32_t window;
  DType cache;
  bool write_first;          // kv_write the step's own rows into the cache before attending (a model step)
  int32_t rotate_n_rot = 0;  // > 0: rotate_keys with this many rotated dimensions
  RopeMode rotate_mode = RopeMode::normal;
  bool rotate_factors = false;  // the rotation has frequency factors
};

std::string attention_name(const AttentionShape& s) {
  std::string name =
      fmt::format("attention{} cache={} m={} n_head={} n_kv_head={} head_dim={} n_slots={} filled={} window={}",
                  s.write_first ? "+kv_write" : "", dtype_name(s.cache), s.m, s.n_head, s.n_kv_head, s.head_dim,
                  s.n_slots, s.n_filled, s.window);
  if (s.rotate_n_rot > 0) {
    name += fmt::format(" rotate_keys={}/{}{}", s.rotate_mode == RopeMode::neox ? "neox" : "normal", s.rotate_n_rot,
                        s.rotate_factors ? " freq_factors" : "");
  }
  return name;
}

void add_attention_cases(std::vector<OpCase>& cases) {
  const AttentionShape shapes[] = {
      {1, 1, 1, 8, 1, 1, 0, DType::F32, false},         // one key: the output is v
      {1, 8, 4, 8, 64, 40, 0, DType::F16, false},       // stories260K's heads, partly filled
      {1, 4, 1, 64, 33, 33, 0, DType::F32, false},      // MQA
      {1, 8, 2, 128, 257, 200, 0, DType::F16, false},   // GQA decode
      {1, 4, 2, 64, 512, 511, 128, DType::F16, false},  // sliding window decode
      {7, 4, 2, 64, 65, 30, 0, DType::F32, false},      // causal prefill
      {7, 4, 4, 32, 16, 16, 4, DType::F16, false},      // prefill with a window shorter than the batch
      {33, 8, 2, 64, 257, 100, 0, DType::F16, false},
      {33, 6, 3, 16, 65, 65, 8, DType::F32, false},
      {64, 8, 2, 128, 512, 300, 0, DType::F16, false},  // large prefill
      {7, 4, 2, 64, 65, 30, 0, DType::F16, true},
      {1, 8, 4, 8, 64, 40, 0, DType::F32, true},
      // rotate_keys (the KV ring's unrotated cache): full and partial rotation, both layouts.
      {1, 8, 4, 8, 64, 40, 0, DType::F32, false, 8, RopeMode::normal},
      {7, 4, 2, 64, 65, 30, 0, DType::F16, true, 64, RopeMode::normal},
      {33, 6, 3, 80, 65, 65, 8, DType::F32, false, 32, RopeMode::neox},
      {1, 8, 2, 128, 257, 200, 0, DType::F16, false, 128, RopeMode::neox},
      // ... with frequency factors: decode in one chunk and split over several, and prefill.
      {1, 8, 4, 8, 64, 40, 0, DType::F32, false, 8, RopeMode::normal, true},
      {1, 8, 2, 128, 257, 200, 0, DType::F16, false, 128, RopeMode::normal, true},
      {7, 4, 2, 64, 65, 30, 0, DType::F16, true, 32, RopeMode::neox, true},
  };
  for (const AttentionShape& s : shapes) {
    OpCase c;
    c.name = attention_name(s);
    c.op = "attention";
    c.max_nmse = attention_nmse;
    c.build = [name = c.name, s](Backend& backend) {
      CaseRng rng(name);
      CaseGraph g;
      const int64_t row = s.n_kv_head * s.head_dim;
      // The step's tokens hold the last m positions of the filled ones: causal inside the batch.
      const std::vector<int32_t> kv_pos = shuffled_positions(rng, s.n_slots, s.n_filled, 0);
      std::vector<int32_t> q_pos(size_t(s.m));
      std::iota(q_pos.begin(), q_pos.end(), int32_t(s.n_filled - s.m));
      const TensorId q = add_float_input(g, "q", DType::F32, {s.m, s.n_head, s.head_dim},
                                         rng.floats(size_t(s.m * s.n_head * s.head_dim)));
      const Shape cache_shape{s.n_slots, s.n_kv_head, s.head_dim};
      TensorId k = add_state(g, backend, "cache_k", s.cache, cache_shape, rng.floats(size_t(s.n_slots * row)));
      TensorId v = add_state(g, backend, "cache_v", s.cache, cache_shape, rng.floats(size_t(s.n_slots * row)));
      if (s.write_first) {
        std::vector<int32_t> slots(size_t(s.m));
        for (size_t i = 0; i < slots.size(); ++i) {
          slots[i] = int32_t(std::find(kv_pos.begin(), kv_pos.end(), q_pos[i]) - kv_pos.begin());
        }
        const TensorId slot_ids = add_i32_input(g, "slots", slots);
        const Shape src_shape{s.m, s.n_kv_head, s.head_dim};
        k = g.graph.kv_write(k, add_float_input(g, "k_new", DType::F32, src_shape, rng.floats(size_t(s.m * row))),
                             slot_ids);
        v = g.graph.kv_write(v, add_float_input(g, "v_new", DType::F32, src_shape, rng.floats(size_t(s.m * row))),
                             slot_ids);
      }
      AttentionParams params;
      params.scale = 1.0f / std::sqrt(float(s.head_dim));
      params.window = s.window;
      if (s.rotate_n_rot > 0) {
        params.rotate_keys = true;
        params.key_rope = RopeParams{s.rotate_mode, s.rotate_n_rot, 10000.0f, 1.0f};
      }
      const TensorId factors = s.rotate_factors ? add_freq_factors(g, s.rotate_n_rot) : TensorId{};
      const TensorId y = with_freq_factors(
          g.graph,
          g.graph.attention(q, k, v, add_i32_input(g, "q_pos", q_pos), add_i32_input(g, "kv_pos", kv_pos), params),
          factors);
      g.graph.mark_output(y);
      g.outputs.push_back(y);
      return g;
    };
    cases.push_back(std::move(c));
  }

  // No slot is visible to any query (every cached position is later): the output is zeros.
  OpCase none;
  none.name = "attention cache=f32 no visible key";
  none.op = "attention";
  none.max_nmse = attention_nmse;
  none.build = [name = none.name](Backend& backend) {
    CaseRng rng(name);
    CaseGraph g;
    const TensorId q = add_float_input(g, "q", DType::F32, {2, 2, 32}, rng.floats(2 * 2 * 32));
    const TensorId k = add_state(g, backend, "cache_k", DType::F32, {8, 1, 32}, rng.floats(8 * 32));
    const TensorId v = add_state(g, backend, "cache_v", DType::F32, {8, 1, 32}, rng.floats(8 * 32));
    const std::vector<int32_t> kv_pos = shuffled_positions(rng, 8, 6, 5);  // positions 5..10 and two empty slots
    const TensorId y = g.graph.attention(q, k, v, add_i32_input(g, "q_pos", {3, 4}), add_i32_input(g, "kv_pos", kv_pos),
                                         AttentionParams{0.25f, 0});
    g.graph.mark_output(y);
    g.outputs.push_back(y);
    return g;
  };
  cases.push_back(std::move(none));
}

void add_kv_write_cases(std::vector<OpCase>& cases) {
  struct KvShape {
    int64_t m, n_slots, n_kv_head, head_dim;
  };
  const KvShape shapes[] = {{1, 1, 1, 8}, {1, 16, 2, 8}, {7, 65, 4, 64}, {33, 257, 1, 128}, {64, 512, 8, 128}};
  for (DType cache : {DType::F32, DType::F16}) {
    for (const KvShape& s : shapes) {
      OpCase c;
      c.name = fmt::format("kv_write cache={} m={} n_slots={} n_kv_head={} head_dim={}", dtype_name(cache), s.m,
                           s.n_slots, s.n_kv_head, s.head_dim);
      c.op = "kv_write";
      c.max_nmse = kv_write_nmse;
      c.build = [name = c.name, cache, s](Backend& backend) {
        CaseRng rng(name);
        CaseGraph g;
        const int64_t row = s.n_kv_head * s.head_dim;
        const TensorId state = add_state(g, backend, "cache", cache, {s.n_slots, s.n_kv_head, s.head_dim},
                                         rng.floats(size_t(s.n_slots * row)));
        // Distinct slots in shuffled order; the rest of the cache must keep its old contents.
        const std::vector<int32_t> order = shuffled_positions(rng, s.n_slots, s.n_slots, 0);
        const std::vector<int32_t> slots(order.begin(), order.begin() + s.m);
        const TensorId src = add_float_input(g, "src", DType::F32, {s.m, s.n_kv_head, s.head_dim},
                                             rng.floats(size_t(s.m * row), -4.0f, 4.0f));
        const TensorId y = g.graph.kv_write(state, src, add_i32_input(g, "slots", slots));
        g.graph.mark_output(y);
        g.outputs.push_back(y);
        return g;
      };
      cases.push_back(std::move(c));
    }
  }
}

// A layer's rope and cache writes as a model step builds them: keys rotated and written, values
// written as projected, into caches of either type at shuffled slots; or, as the KV ring does
// (attention rotates its keys), both written as projected and only q rotated. With one token q, k and v
// are neighbouring head ranges of one projection (the fusion pass joins the two ropes); with
// several they are tensors of their own. The Vulkan backend lowers each rope with the writes
// beside it as one dispatch (engine/backend/vulkan/lowering_rope_kv.cpp); the caches are compared
// whole, so a write to a wrong slot or a missed one fails.
void add_rope_kv_write_cases(std::vector<OpCase>& cases) {
  struct RopeKvShape {
    int64_t m, n_head, n_kv_head, head_dim, n_slots;
    int32_t n_rot;
    bool ring = false;  // keys written unrotated
  };
  const RopeKvShape shapes[] = {{1, 9, 3, 64, 256, 64}, {1, 4, 4, 8, 16, 8},          {5, 4, 2, 64, 65, 32},
                                {1, 8, 2, 80, 33, 80},  {1, 9, 3, 64, 256, 64, true}, {5, 4, 2, 64, 65, 32, true}};
  for (DType cache : {DType::F32, DType::F16}) {
    for (RopeMode mode : {RopeMode::normal, RopeMode::neox}) {
      for (const RopeKvShape& s : shapes) {
        OpCase c;
        c.name = fmt::format("rope+kv_write {} cache={} m={} n_head={} n_kv_head={} head_dim={} n_slots={} n_rot={}{}",
                             mode == RopeMode::normal ? "normal" : "neox", dtype_name(cache), s.m, s.n_head,
                             s.n_kv_head, s.head_dim, s.n_slots, s.n_rot, s.ring ? " ring" : "");
        c.op = "rope";
        c.max_nmse = rope_nmse;
        c.build = [name = c.name, cache, mode, s](Backend& backend) {
          CaseRng rng(name);
          CaseGraph g;
          const int64_t d = s.head_dim, row = s.n_kv_head * d;
          const Shape cache_shape{s.n_slots, s.n_kv_head, d};
          const TensorId cache_k =
              add_state(g, backend, "cache_k", cache, cache_shape, rng.floats(size_t(s.n_slots * row)));
          const TensorId cache_v =
              add_state(g, backend, "cache_v", cache, cache_shape, rng.floats(size_t(s.n_slots * row)));
          const std::vector<int32_t> order = shuffled_positions(rng, s.n_slots, s.n_slots, 0);
          const TensorId slots = add_i32_input(g, "slots", std::vector<int32_t>(order.begin(), order.begin() + s.m));
          std::vector<int32_t> pos(size_t(s.m));
          for (int32_t& p : pos) p = rng.below(4096);
          const TensorId positions = add_i32_input(g, "pos", pos);
          TensorId q, k, v;
          if (s.m == 1) {
            const int64_t heads = s.n_head + 2 * s.n_kv_head;
            const TensorId qkv = add_float_input(g, "qkv", DType::F32, {heads, d}, rng.floats(size_t(heads * d)));
            q = g.graph.reshape(g.graph.rows(qkv, 0, s.n_head), {1, s.n_head, d});
            k = g.graph.reshape(g.graph.rows(qkv, s.n_head, s.n_kv_head), {1, s.n_kv_head, d});
            v = g.graph.reshape(g.graph.rows(qkv, s.n_head + s.n_kv_head, s.n_kv_head), {1, s.n_kv_head, d});
          } else {
            q = add_float_input(g, "q", DType::F32, {s.m, s.n_head, d}, rng.floats(size_t(s.m * s.n_head * d)));
            k = add_float_input(g, "k", DType::F32, {s.m, s.n_kv_head, d}, rng.floats(size_t(s.m * row)));
            v = add_float_input(g, "v", DType::F32, {s.m, s.n_kv_head, d}, rng.floats(size_t(s.m * row)));
          }
          const RopeParams params{mode, s.n_rot, 10000.0f, 1.0f};
          // In a model step's order: q's rope, the cache writes, then their readers (ops, as attention
          // is: a rope that is an output is not joined with k's, and a cache written and marked as
          // an output is copied out after every other step).
          const TensorId q_rot = g.graph.rope(q, positions, params);
          const TensorId v_written = g.graph.kv_write(cache_v, v, slots);
          const TensorId k_written = g.graph.kv_write(cache_k, s.ring ? k : g.graph.rope(k, positions, params), slots);
          const TensorId q_out = g.graph.scale(q_rot, 1.0f);
          const TensorId k_out = g.graph.convert(k_written, DType::F32);
          const TensorId v_out = g.graph.convert(v_written, DType::F32);
          for (TensorId y : {q_out, k_out, v_out}) {
            g.graph.mark_output(y);
            g.outputs.push_back(y);
          }
          return g;
        };
        cases.push_back(std::move(c));
      }
    }
  }
}

}  // namespace

void add_position_cases(std::vector<OpCase>& cases) {
  add_rope_cases(cases);
  add_attention_cases(cases);
  add_kv_write_cases(cases);
  add_rope_kv_write_cases(cases);
}

}  // namespace vkgraph::testing
