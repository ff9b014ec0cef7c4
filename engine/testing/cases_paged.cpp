// paged_attention: queries of several sequences in one step, each reading its own blocks of a
// shared pool through the block table. Block sizes 1, 3, 5, 7, 16 and 32 (odd sizes: a block
// never lines up with a kernel tile), GQA ratios 1 to 8, head dimensions 8 to 256, causal and
// windowed, f16 and f32 pools, blocks in shuffled pool order, blocks shared by two sequences,
// empty table rows and padding queries (row -1, seeing nothing), queries in chunk order and
// shuffled, and decode over 1000 and 4096 positions (several split-K chunks on Vulkan).

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "engine/testing/case_data.h"
#include "engine/testing/case_families.h"

namespace vkgraph::testing {
namespace {

// As the attention sweep (cases_attention.cpp): f32 sums against the double reference give NMSE
// ~1e-12; one key of another sequence, a wrong block or a missed one moves a row by ~1/length of
// its size, NMSE >= ~1e-7 on a case whose rows all have it, a wrongly placed block ~1e-2.
constexpr double paged_nmse = 1e-6;

struct PagedSeq {
  int64_t length = 1;   // positions in the cache after the step: 0 .. length - 1
  int64_t queries = 1;  // the last `queries` positions are this step's queries
  int64_t shared = 0;   // leading blocks that are the previous sequence's blocks (same content)
};

struct PagedSweep {
  std::vector<PagedSeq> seqs;
  int64_t block_size = 16;
  int64_t n_head = 8;
  int64_t n_kv_head = 2;
  int64_t head_dim = 64;
  int32_t window = 0;
  DType cache = DType::F16;
  int64_t empty_rows = 0;    // table rows with no block, each with one query
  int64_t padding = 0;       // queries of row -1
  bool shuffled = false;     // queries in a random order instead of sequence by sequence
  int64_t spare_blocks = 3;  // pool blocks no table names (random content: must never be read)
  float softcap = 0.0f;      // > 0: capped scores, with scale 1 (as the attention sweep's)
};

std::string sweep_name(const PagedSweep& s) {
  std::string seqs;
  for (const PagedSeq& q : s.seqs) {
    seqs += fmt::format("{}{}/{}", seqs.empty() ? "" : ",", q.queries, q.length);
    if (q.shared > 0) seqs += fmt::format("+shared{}", q.shared);
  }
  std::string name = fmt::format("paged_attention cache={} block={} seqs={} head_dim={} n_head={} n_kv_head={} {}",
                                 dtype_name(s.cache), s.block_size, seqs, s.head_dim, s.n_head, s.n_kv_head,
                                 s.window > 0 ? fmt::format("window={}", s.window) : std::string("causal"));
  if (s.empty_rows > 0) name += fmt::format(" empty_rows={}", s.empty_rows);
  if (s.padding > 0) name += fmt::format(" padding={}", s.padding);
  if (s.shuffled) name += " shuffled";
  if (s.softcap > 0.0f) name += fmt::format(" softcap={}", s.softcap);
  return name;
}

OpCase paged_case(const PagedSweep& s) {
  OpCase c;
  c.name = sweep_name(s);
  c.op = "paged_attention";
  c.max_nmse = paged_nmse;
  c.build = [name = c.name, s](Backend& backend) {
    CaseRng rng(name);
    CaseGraph g;
    const int64_t bs = s.block_size;
    int64_t max_blocks = 1;
    int64_t owned = s.spare_blocks;
    for (const PagedSeq& q : s.seqs) {
      const int64_t blocks = (q.length + bs - 1) / bs;
      max_blocks = std::max(max_blocks, blocks);
      owned += blocks - q.shared;
    }
    // The pool's blocks in a random order: tables point all over it.
    std::vector<int32_t> order(static_cast<size_t>(owned));
    std::iota(order.begin(), order.end(), 0);
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[size_t(rng.below(int32_t(i)))]);
    const int64_t n_rows = int64_t(s.seqs.size()) + s.empty_rows;
    std::vector<int32_t> table(size_t(n_rows * max_blocks), -1);
    size_t next = 0;
    for (size_t r = 0; r < s.seqs.size(); ++r) {
      const int64_t blocks = (s.seqs[r].length + bs - 1) / bs;
      for (int64_t b = 0; b < blocks; ++b) {
        const bool shared = b < s.seqs[r].shared;
        table[r * size_t(max_blocks) + size_t(b)] =
            shared ? table[(r - 1) * size_t(max_blocks) + size_t(b)] : order[next++];
      }
    }
    // Queries: each sequence's last positions, then one per empty row, then padding.
    std::vector<int32_t> rows, q_pos;
    for (size_t r = 0; r < s.seqs.size(); ++r) {
      for (int64_t p = s.seqs[r].length - s.seqs[r].queries; p < s.seqs[r].length; ++p) {
        rows.push_back(int32_t(r));
        q_pos.push_back(int32_t(p));
      }
    }
    for (int64_t e = 0; e < s.empty_rows; ++e) {
      rows.push_back(int32_t(s.seqs.size() + size_t(e)));
      q_pos.push_back(int32_t(rng.below(64)));
    }
    for (int64_t p = 0; p < s.padding; ++p) {
      rows.push_back(-1);
      q_pos.push_back(0);
    }
    if (s.shuffled) {
      for (size_t i = rows.size(); i > 1; --i) {
        const auto j = size_t(rng.below(int32_t(i)));
        std::swap(rows[i - 1], rows[j]);
        std::swap(q_pos[i - 1], q_pos[j]);
      }
    }
    const auto m = int64_t(rows.size());
    const int64_t row_elems = s.n_kv_head * s.head_dim;
    const int64_t n_pool = owned * bs;
    const TensorId q =
        add_float_input(g, "q", DType::F32, {m, s.n_head, s.head_dim}, rng.floats(size_t(m * s.n_head * s.head_dim)));
    const Shape pool_shape{n_pool, s.n_kv_head, s.head_dim};
    const TensorId k = add_state(g, backend, "pool_k", s.cache, pool_shape, rng.floats(size_t(n_pool * row_elems)));
    const TensorId v = add_state(g, backend, "pool_v", s.cache, pool_shape, rng.floats(size_t(n_pool * row_elems)));
    const TensorId t = g.graph.input("block_table", DType::I32, {n_rows, max_blocks});
    g.inputs.emplace_back(t, std::vector<std::byte>(reinterpret_cast<const std::byte*>(table.data()),
                                                    reinterpret_cast<const std::byte*>(table.data() + table.size())));
    AttentionParams params;
    params.scale = s.softcap > 0.0f ? 1.0f : 1.0f / std::sqrt(float(s.head_dim));
    params.window = s.window;
    params.softcap = s.softcap;
    params.block_size = int32_t(bs);
    const TensorId y = g.graph.paged_attention(q, k, v, t, add_i32_input(g, "seq_rows", rows),
                                               add_i32_input(g, "q_pos", q_pos), params);
    g.graph.mark_output(y);
    g.outputs.push_back(y);
    return g;
  };
  return c;
}

}  // namespace

void add_paged_attention_cases(std::vector<OpCase>& cases) {
  // smollm2-135m's heads (9 query heads on 3 kv heads, 64 dims) at the serving engine's block of
  // 16: a decode step of four sequences of different lengths, then a mixed step (two decodes and
  // two prompt chunks, one starting mid-block).
  cases.push_back(paged_case({.seqs = {{1, 1}, {17, 1}, {100, 1}, {300, 1}}, .n_head = 9, .n_kv_head = 3}));
  cases.push_back(paged_case({.seqs = {{40, 1}, {70, 30}, {33, 33}, {129, 1}}, .n_head = 9, .n_kv_head = 3}));
  // Odd blocks: 3 with f32 and GQA 4, 5 with a window of 9 and stories260K's 8 dimensions, 7
  // with head dimensions that are not powers of two, 1 (every position its own block).
  cases.push_back(
      paged_case({.seqs = {{25, 20}, {7, 7}, {40, 1}}, .block_size = 3, .n_kv_head = 2, .cache = DType::F32}));
  cases.push_back(paged_case(
      {.seqs = {{30, 12}, {9, 1}, {50, 3}}, .block_size = 5, .n_head = 8, .n_kv_head = 4, .head_dim = 8, .window = 9}));
  cases.push_back(
      paged_case({.seqs = {{45, 9}, {12, 1}}, .block_size = 7, .n_head = 8, .n_kv_head = 2, .head_dim = 80}));
  cases.push_back(
      paged_case({.seqs = {{30, 5}, {11, 1}}, .block_size = 7, .n_head = 8, .n_kv_head = 1, .head_dim = 96}));
  cases.push_back(paged_case(
      {.seqs = {{20, 4}, {9, 9}}, .block_size = 1, .n_head = 4, .n_kv_head = 4, .head_dim = 256, .cache = DType::F32}));
  // Shared prefix blocks: sequence 1 reads sequence 0's first two blocks and sequence 2 the first
  // of sequence 1, each then its own; plus an empty table row and padding queries, in shuffled
  // order (a kernel's grouping of neighbouring queries must follow rows and positions, not
  // indices).
  cases.push_back(paged_case({.seqs = {{40, 8}, {38, 6}, {20, 1, 1}},
                              .n_head = 8,
                              .n_kv_head = 8,
                              .empty_rows = 1,
                              .padding = 3,
                              .shuffled = true}));
  cases.push_back(paged_case({.seqs = {{40, 8}, {38, 6, 2}, {20, 1, 1}}, .empty_rows = 2, .padding = 5}));
  // Long decodes and a long chunk: 1000 and 4096 positions (split-K with several chunks), GQA 8
  // with 128 dimensions and a window, MQA with 32 heads.
  cases.push_back(paged_case({.seqs = {{4096, 1}, {1000, 1}, {1000, 64}},
                              .block_size = 32,
                              .n_head = 8,
                              .n_kv_head = 1,
                              .head_dim = 128,
                              .window = 1024}));
  cases.push_back(paged_case({.seqs = {{2000, 1}, {517, 2}}, .n_head = 32, .n_kv_head = 1, .head_dim = 64}));
  // Gemma 2's soft-capped scores with its local layers' window: a mixed step and a long decode
  // (several chunks).
  cases.push_back(paged_case({.seqs = {{40, 1}, {70, 30}, {33, 33}}, .window = 16, .softcap = 2.0f}));
  cases.push_back(paged_case({.seqs = {{1000, 1}, {300, 1}}, .n_kv_head = 4, .softcap = 2.0f}));
}

}  // namespace vkgraph::testing
