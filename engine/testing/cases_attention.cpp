// The attention sweep: every head dimension a supported model uses (8 for stories260K; 64, 80,
// 96, 128, 256), GQA ratios 1, 2, 4 and 8, query/cache lengths 1, 17, 128, 1000 and 4096,
// causal and sliding-window masks, f32 and f16 caches, caches in position order (so the tiled
// kernel skips whole tiles) and shuffled (a ring after wrapping: tiles must be judged by
// positions, not indices), and keys rotated at read time. The 4096-long prefill cases are few
// and narrow (one or two heads) to keep `vkgraph test-ops` quick; decode (split-K) gets its own
// sweep of lengths and GQA ratios.

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "engine/testing/case_data.h"
#include "engine/testing/case_families.h"

namespace vkgraph::testing {
namespace {

// Scores and sums in f32 (the portable tiles) or with f16 P and Q tiles (cooperative matrices)
// instead of double: NMSE ~1e-12 and ~1e-7. One wrongly masked key out of 4096 shifts an output
// by ~1/4096 of its size, NMSE >= ~1e-7 on its row alone but ~1e-4 over a case whose rows all
// have it; a skipped tile that held visible keys moves NMSE to ~1e-3 or more.
constexpr double attention_nmse = 1e-6;

struct Sweep {
  int64_t m = 1;  // query rows; they are the last m positions of the cache
  int64_t n_head = 8;
  int64_t n_kv_head = 8;
  int64_t head_dim = 64;
  int64_t n_slots = 1;  // all filled with positions 0 .. n_slots - 1
  int32_t window = 0;
  DType cache = DType::F16;
  bool ordered = true;  // slot j holds position j; else a shuffled (wrapped ring) order
  int32_t rotate_n_rot = 0;
  bool neox = false;    // rotated keys: pairs n_rot / 2 apart (Qwen, Phi, Gemma) instead of neighbours
  int64_t filled = -1;  // >= 0: only the first `filled` positions are in the cache, other slots empty
  // > 0: scores soft-capped (Gemma 2). Those cases score with scale 1 instead of 1/sqrt(d), so
  // that scores of random unit-range q and k spread over several caps and the tanh bends them:
  // an uncapped kernel lands NMSE ~1e-1 away.
  float softcap = 0.0f;
  // Values past f16's range (65504): element 0 of every query (kBigQueries) or of every key
  // (kBigKeys) is 1e5 and the same element of the other side 1/64, so every score of a row gets
  // the same large term and the softmax (invariant to it) equals the ordinary case's. Kernels that
  // stage tiles in f16 (cooperative matrices) must scale them, not overflow to infinity and NaN.
  int big = 0;
};
constexpr int kBigQueries = 1, kBigKeys = 2;

std::string sweep_name(const Sweep& s) {
  std::string name = fmt::format("attention sweep cache={} m={} n_slots={} head_dim={} n_head={} n_kv_head={} {}{}",
                                 dtype_name(s.cache), s.m, s.n_slots, s.head_dim, s.n_head, s.n_kv_head,
                                 s.window > 0 ? fmt::format("window={}", s.window) : std::string("causal"),
                                 s.ordered ? "" : " shuffled");
  if (s.rotate_n_rot > 0) name += fmt::format(" rotate_keys={}{}", s.rotate_n_rot, s.neox ? " neox" : "");
  if (s.filled >= 0) name += fmt::format(" filled={}", s.filled);
  if (s.softcap > 0.0f) name += fmt::format(" softcap={}", s.softcap);
  if (s.big == kBigQueries) name += " queries=1e5";
  if (s.big == kBigKeys) name += " keys=1e5";
  return name;
}

OpCase sweep_case(const Sweep& s) {
  OpCase c;
  c.name = sweep_name(s);
  c.op = "attention";
  c.max_nmse = attention_nmse;
  c.build = [name = c.name, s](Backend& backend) {
    CaseRng rng(name);
    CaseGraph g;
    std::vector<int32_t> kv_pos(size_t(s.n_slots));
    std::iota(kv_pos.begin(), kv_pos.end(), 0);
    if (!s.ordered) {
      for (size_t i = kv_pos.size(); i > 1; --i) std::swap(kv_pos[i - 1], kv_pos[size_t(rng.below(int32_t(i)))]);
    }
    const int64_t filled = s.filled >= 0 ? s.filled : s.n_slots;
    for (int32_t& pos : kv_pos) pos = pos < filled ? pos : -1;  // an empty slot holds -1
    std::vector<int32_t> q_pos(size_t(s.m));
    std::iota(q_pos.begin(), q_pos.end(), int32_t(std::max<int64_t>(filled, s.m) - s.m));
    const int64_t row = s.n_kv_head * s.head_dim;
    std::vector<float> q_values = rng.floats(size_t(s.m * s.n_head * s.head_dim));
    std::vector<float> k_values = rng.floats(size_t(s.n_slots * row));
    if (s.big != 0) {
      // 1/64 is exact in f16; 1e5 is not representable there at all.
      const float q0 = s.big == kBigQueries ? 1.0e5f : 1.0f / 64, k0 = s.big == kBigKeys ? 1.0e5f : 1.0f / 64;
      for (size_t i = 0; i < q_values.size(); i += size_t(s.head_dim)) q_values[i] = q0;
      for (size_t i = 0; i < k_values.size(); i += size_t(s.head_dim)) k_values[i] = k0;
    }
    const TensorId q = add_float_input(g, "q", DType::F32, {s.m, s.n_head, s.head_dim}, q_values);
    const Shape cache_shape{s.n_slots, s.n_kv_head, s.head_dim};
    const TensorId k = add_state(g, backend, "cache_k", s.cache, cache_shape, k_values);
    const TensorId v = add_state(g, backend, "cache_v", s.cache, cache_shape, rng.floats(size_t(s.n_slots * row)));
    AttentionParams params;
    params.scale = s.softcap > 0.0f ? 1.0f : 1.0f / std::sqrt(float(s.head_dim));
    params.window = s.window;
    params.softcap = s.softcap;
    if (s.rotate_n_rot > 0) {
      params.rotate_keys = true;
      params.key_rope = RopeParams{s.neox ? RopeMode::neox : RopeMode::normal, s.rotate_n_rot, 10000.0f, 1.0f};
    }
    const TensorId y =
        g.graph.attention(q, k, v, add_i32_input(g, "q_pos", q_pos), add_i32_input(g, "kv_pos", kv_pos), params);
    g.graph.mark_output(y);
    g.outputs.push_back(y);
    return g;
  };
  return c;
}

// Decode (one query row) over caches of 1, 17, 128, 1000 and 4096 slots: split-K runs one chunk
// up to 511 slots and several beyond (lowering_attention_split.cpp), so both the direct output
// and the reduce pass are compared. Every GQA ratio meets every length; windows, f16/f32,
// shuffled (wrapped ring) caches, rotate_keys and partly filled caches are spread over them.
void add_decode_sweep(std::vector<OpCase>& cases) {
  const int64_t ratios[] = {1, 2, 4, 8};
  const int64_t lengths[] = {1, 17, 128, 1000, 4096};
  for (size_t ri = 0; ri < 4; ++ri) {
    for (size_t li = 0; li < 5; ++li) {
      const int64_t len = lengths[li];
      Sweep s{.m = 1, .n_head = 8, .n_kv_head = 8 / ratios[ri], .head_dim = 64, .n_slots = len};
      s.window = (ri + li) % 2 == 1 ? int32_t(std::max<int64_t>(len / 3, 1)) : 0;
      s.ordered = (ri + li) % 3 != 1;
      s.cache = (ri + li) % 2 == 0 ? DType::F16 : DType::F32;
      if ((ri + li) % 4 == 3) s.rotate_n_rot = 64;
      if (len >= 1000 && ri % 2 == 1) s.filled = len * 2 / 3;  // the ring before it is full
      cases.push_back(sweep_case(s));
    }
  }
  // Every head dimension across several chunks (8: invocations share a dimension; 80, 96: not a
  // divisor of the workgroup) with half the dimensions rotated, and a cache with no visible slot.
  struct HeadShape {
    int64_t head_dim, n_head, n_kv_head;
  };
  for (const HeadShape& h : {HeadShape{8, 8, 4}, {80, 8, 2}, {96, 8, 1}, {128, 4, 2}, {256, 4, 1}}) {
    cases.push_back(sweep_case({.m = 1,
                                .n_head = h.n_head,
                                .n_kv_head = h.n_kv_head,
                                .head_dim = h.head_dim,
                                .n_slots = 1000,
                                .ordered = false,
                                .rotate_n_rot = int32_t(h.head_dim / 2)}));
  }
  cases.push_back(sweep_case({.m = 1, .n_head = 8, .n_kv_head = 2, .head_dim = 64, .n_slots = 1000, .filled = 0}));
  // MQA with 32 query heads: 4 workgroups of 8 heads share each K/V read.
  cases.push_back(sweep_case({.m = 1, .n_head = 32, .n_kv_head = 1, .head_dim = 64, .n_slots = 4096, .window = 700}));
}

}  // namespace

void add_attention_sweep_cases(std::vector<OpCase>& cases) {
  // Every head dimension, prefill of 17 (not a multiple of any tile) and 128, with a GQA ratio
  // each so that all ratios meet all kernels; windowed at 128.
  struct HeadShape {
    int64_t head_dim, n_head, n_kv_head;
  };
  const HeadShape heads[] = {{8, 8, 4}, {64, 8, 8}, {80, 8, 2}, {96, 8, 1}, {128, 4, 2}, {256, 4, 1}};
  for (const HeadShape& h : heads) {
    cases.push_back(
        sweep_case({.m = 17, .n_head = h.n_head, .n_kv_head = h.n_kv_head, .head_dim = h.head_dim, .n_slots = 17}));
    cases.push_back(sweep_case({.m = 128,
                                .n_head = h.n_head,
                                .n_kv_head = h.n_kv_head,
                                .head_dim = h.head_dim,
                                .n_slots = 128,
                                .window = 48}));
    cases.push_back(sweep_case({.m = 1,
                                .n_head = h.n_head,
                                .n_kv_head = h.n_kv_head,
                                .head_dim = h.head_dim,
                                .n_slots = 128,
                                .cache = DType::F32}));
  }
  // GQA ratios 1, 2, 4, 8 at lengths 1, 17, 128 and 1000 (head_dim 64), causal and windowed,
  // ordered and shuffled.
  const int64_t ratios[] = {1, 2, 4, 8};
  const int64_t lengths[] = {1, 17, 128, 1000};
  for (size_t ri = 0; ri < 4; ++ri) {
    for (size_t li = 0; li < 4; ++li) {
      const int64_t len = lengths[li];
      Sweep s{.m = len, .n_head = 8, .n_kv_head = 8 / ratios[ri], .head_dim = 64, .n_slots = len};
      s.window = (ri + li) % 2 == 1 ? 32 : 0;
      s.ordered = (ri + li) % 3 != 2;
      s.cache = li % 2 == 0 ? DType::F16 : DType::F32;
      if (len == 1) s.n_slots = 1000;  // decode over a long cache
      cases.push_back(sweep_case(s));
    }
  }
  // Keys rotated while the tiles load (the KV ring's layout), prefill and decode.
  cases.push_back(sweep_case(
      {.m = 128, .n_head = 8, .n_kv_head = 4, .head_dim = 64, .n_slots = 128, .ordered = false, .rotate_n_rot = 64}));
  cases.push_back(
      sweep_case({.m = 17, .n_head = 8, .n_kv_head = 4, .head_dim = 8, .n_slots = 40, .window = 9, .rotate_n_rot = 8}));
  // ... in neox pairs (whole and partial rotations, one of a number of dimensions the
  // CPU-class prefill kernel rotates by whole vectors and one it leaves to the tiled kernel:
  // 36), and partly rotated neighbour pairs; prefill and decode.
  cases.push_back(sweep_case({.m = 128,
                              .n_head = 8,
                              .n_kv_head = 2,
                              .head_dim = 64,
                              .n_slots = 128,
                              .ordered = false,
                              .rotate_n_rot = 64,
                              .neox = true}));
  cases.push_back(sweep_case(
      {.m = 33, .n_head = 4, .n_kv_head = 4, .head_dim = 128, .n_slots = 50, .rotate_n_rot = 32, .neox = true}));
  cases.push_back(sweep_case({.m = 33,
                              .n_head = 6,
                              .n_kv_head = 2,
                              .head_dim = 96,
                              .n_slots = 40,
                              .ordered = false,
                              .rotate_n_rot = 48,
                              .neox = true}));
  cases.push_back(sweep_case(
      {.m = 17, .n_head = 4, .n_kv_head = 2, .head_dim = 64, .n_slots = 17, .rotate_n_rot = 36, .neox = true}));
  cases.push_back(
      sweep_case({.m = 33, .n_head = 4, .n_kv_head = 2, .head_dim = 64, .n_slots = 60, .rotate_n_rot = 32}));
  cases.push_back(sweep_case({.m = 1,
                              .n_head = 8,
                              .n_kv_head = 2,
                              .head_dim = 64,
                              .n_slots = 300,
                              .ordered = false,
                              .rotate_n_rot = 64,
                              .neox = true}));
  // An f32 cache with heads that are no multiple of 16 (stories260K's 8): the prefill rows of
  // that form.
  cases.push_back(sweep_case(
      {.m = 17, .n_head = 8, .n_kv_head = 4, .head_dim = 8, .n_slots = 30, .cache = DType::F32, .filled = 25}));
  // Queries and keys past f16's range (an f32 cache: an f16 one cannot hold them), prefill.
  cases.push_back(sweep_case(
      {.m = 17, .n_head = 8, .n_kv_head = 4, .head_dim = 64, .n_slots = 17, .cache = DType::F32, .big = kBigQueries}));
  cases.push_back(sweep_case(
      {.m = 17, .n_head = 8, .n_kv_head = 4, .head_dim = 64, .n_slots = 17, .cache = DType::F32, .big = kBigKeys}));
  // 4096: a causal prefill (half its tiles skipped), a windowed one (all but a band skipped),
  // and decode over a 4096-slot cache.
  cases.push_back(sweep_case({.m = 4096, .n_head = 2, .n_kv_head = 1, .head_dim = 64, .n_slots = 4096}));
  cases.push_back(sweep_case({.m = 4096, .n_head = 2, .n_kv_head = 2, .head_dim = 8, .n_slots = 4096, .window = 256}));
  cases.push_back(sweep_case({.m = 1, .n_head = 8, .n_kv_head = 2, .head_dim = 128, .n_slots = 4096, .window = 1024}));
  // Soft-capped scores (Gemma 2) through every kernel: prefill tiles (17: partial tiles, 128 with
  // a window), decode in one chunk and in several (1000 slots, windowed), and keys rotated at
  // read (the ring) in both.
  for (const Sweep& s :
       {Sweep{.m = 17, .n_head = 8, .n_kv_head = 4, .n_slots = 17},
        Sweep{.m = 128, .n_head = 4, .n_kv_head = 2, .n_slots = 128, .window = 16},
        Sweep{.m = 1, .n_head = 8, .n_kv_head = 2, .n_slots = 128},
        Sweep{.m = 1, .n_head = 8, .n_kv_head = 2, .n_slots = 1000, .window = 300},
        Sweep{.m = 40, .n_head = 8, .n_kv_head = 4, .n_slots = 40, .window = 16, .ordered = false, .rotate_n_rot = 64},
        Sweep{.m = 1, .n_head = 8, .n_kv_head = 4, .n_slots = 1000, .ordered = false, .rotate_n_rot = 64}}) {
    Sweep capped = s;
    capped.softcap = 2.0f;
    cases.push_back(sweep_case(capped));
  }
  add_decode_sweep(cases);
}

}  // namespace vkgraph::testing
