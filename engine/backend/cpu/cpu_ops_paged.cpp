// paged_attention: attention over a paged KV cache, each query reading its own sequence's
// blocks through the block table (graph.h defines the op).

#include <cmath>
#include <vector>

#include "engine/backend/cpu/cpu_ops.h"
#include "engine/backend/cpu/parallel.h"
#include "engine/core/error.h"
#include "engine/core/quant.h"

namespace vkgraph::cpu {

// out[i][h] = sum_p softmax_p(score(q[i][h] . k[slot(p)][h/g]) v[slot(p)][h/g] over the positions
// p visible to query i, in increasing order, slot(p) read through the table row seq_rows[i]. A
// table entry that names no block of the pool, or a row outside the table, is an error here: the
// host built the table, and the reference says so rather than reading past the pool.
void op_paged_attention(const OpArgs& a) {
  const Node& k_node = *a.in[1];
  const Node& table_node = *a.in[3];
  const auto m = size_t(a.node.shape[0]);
  const auto n_head = size_t(a.node.shape[1]);
  const auto d = size_t(a.node.shape[2]);
  const auto n_pool = size_t(k_node.shape[0]);
  const auto n_kv_head = size_t(k_node.shape[1]);
  const size_t group = n_head / n_kv_head;
  const AttentionParams& params = a.node.params.attention;
  const auto block_size = size_t(params.block_size);
  const auto n_blocks = int64_t(n_pool / block_size);
  const auto n_rows = int64_t(table_node.shape[0]);
  const auto max_blocks = size_t(table_node.shape[1]);
  const int32_t window = params.window;

  const auto* q = reinterpret_cast<const float*>(a.src[0]);           // q: [m, n_head, d]
  const auto* table = reinterpret_cast<const int32_t*>(a.src[3]);     // [n_rows, max_blocks]
  const auto* seq_rows = reinterpret_cast<const int32_t*>(a.src[4]);  // [m]
  const auto* q_pos = reinterpret_cast<const int32_t*>(a.src[5]);     // [m]
  const size_t row_bytes_kv = row_bytes(k_node.dtype, n_kv_head * d);
  for (size_t i = 0; i < m; ++i) {
    VKGRAPH_CHECK(seq_rows[i] >= -1 && seq_rows[i] < n_rows,
                  "paged_attention '{}': query {} names table row {} of '{}', which has {} rows", a.node.name, i,
                  seq_rows[i], table_node.name, n_rows);
  }
  for (size_t e = 0; e < size_t(n_rows) * max_blocks; ++e) {
    VKGRAPH_CHECK(table[e] >= -1 && table[e] < n_blocks,
                  "paged_attention '{}': entry {} of '{}' is block {}, outside the pool's {} blocks", a.node.name, e,
                  table_node.name, table[e], n_blocks);
  }
  auto* out = reinterpret_cast<float*>(a.out);  // out: [m, n_head, d]

  parallel_for(m * n_head, 256 * d * 2, [&](size_t begin, size_t end) {
    std::vector<float> k(d), v(d);
    std::vector<double> scores, acc(d);
    std::vector<size_t> slots;
    for (size_t ih = begin; ih < end; ++ih) {
      const size_t i = ih / n_head, h = ih % n_head, kh = h / group;
      const float* qr = q + ih * d;
      std::fill(acc.begin(), acc.end(), 0.0);
      scores.clear();
      slots.clear();
      const int32_t row = seq_rows[i];
      const int64_t qp = q_pos[i];
      const int64_t first = window > 0 ? std::max<int64_t>(0, qp - window + 1) : 0;
      const int64_t last = std::min<int64_t>(qp, int64_t(max_blocks * block_size) - 1);
      for (int64_t p = row >= 0 ? first : 0; row >= 0 && p <= last; ++p) {
        const int32_t block = table[size_t(row) * max_blocks + size_t(p) / block_size];
        if (block < 0) continue;  // no block there: invisible
        const size_t slot = size_t(block) * block_size + size_t(p) % block_size;
        dequantize_row(k_node.dtype, a.src[1] + slot * row_bytes_kv + row_bytes(k_node.dtype, kh * d), k.data(), d);
        double dot = 0.0;
        for (size_t c = 0; c < d; ++c) dot += double(qr[c]) * double(k[c]);
        scores.push_back(attention_score(dot, params));
        slots.push_back(slot);
      }
      if (!scores.empty()) {
        double max = -INFINITY;
        for (double s : scores) max = std::fmax(max, s);
        double sum = 0.0;
        for (size_t j = 0; j < scores.size(); ++j) {
          const double p = std::exp(scores[j] - max);
          sum += p;
          dequantize_row(k_node.dtype, a.src[2] + slots[j] * row_bytes_kv + row_bytes(k_node.dtype, kh * d), v.data(),
                         d);
          for (size_t c = 0; c < d; ++c) acc[c] += p * double(v[c]);
        }
        for (size_t c = 0; c < d; ++c) acc[c] /= sum;
      }
      for (size_t c = 0; c < d; ++c) out[ih * d + c] = float(acc[c]);
    }
  });
}

}  // namespace vkgraph::cpu
