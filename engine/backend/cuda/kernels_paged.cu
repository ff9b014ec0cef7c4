// paged_attention: attention over a paged KV cache, each query reading its own sequence's
// blocks through the block table (engine/graph/graph.h defines the op).

#include "engine/backend/cuda/device_common.cuh"

namespace vkgraph::cuda {
namespace {

constexpr int kPerLane = int(kMaxAttentionHeadDim / 32);
constexpr int kWarpsPerBlock = kBlock / 32;

// One warp per (query row, head), lanes holding dimensions lane + 32t: the online softmax of
// attention_kernel over the positions the row sees, in increasing order, each key found through
// the row's table entry. A row's arithmetic depends on its own data only, so a query gives the
// same bits whatever else the step holds. A table entry or row outside the table and the pool
// is reported (Launch::error) and read as no block.
template <DType KV>
__global__ void paged_attention_kernel(PagedAttentionArgs a, int* error, int code) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
  const int64_t group = a.n_head / a.n_kv_head;
  const auto* k = static_cast<const uint8_t*>(a.k);
  const auto* v = static_cast<const uint8_t*>(a.v);
  const size_t head_bytes = size_t(a.d) * (KV == DType::F16 ? 2 : 4);
  const int64_t n_blocks = a.n_pool / a.block_size;
  for (int64_t item = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; item < a.m * a.n_head; item += warps) {
    const int64_t i = item / a.n_head, h = item % a.n_head, kvh = h / group;
    const int32_t row = a.seq_rows[i];
    const int64_t qp = a.q_pos[i];
    float q[kPerLane], acc[kPerLane];
    for (int t = 0; t < kPerLane; ++t) {
      const int64_t c = lane + 32 * t;
      q[t] = c < a.d ? a.q[item * a.d + c] : 0.0f;
      acc[t] = 0.0f;
    }
    float max = -INFINITY, sum = 0.0f;
    if (row >= a.n_rows || row < -1) {
      if (lane == 0) report_bad_index(error, code);
    } else if (row >= 0) {
      const int32_t* table = a.table + int64_t(row) * a.max_blocks;
      const int64_t first = a.window > 0 && qp - a.window + 1 > 0 ? qp - a.window + 1 : 0;
      const int64_t end = a.max_blocks * a.block_size - 1;  // the table's last position
      const int64_t last = qp < end ? qp : end;
      for (int64_t p = first; p <= last; ++p) {
        const int32_t block = table[p / a.block_size];
        if (block < 0) continue;  // the same for the whole warp: no divergence
        if (block >= n_blocks) {
          if (lane == 0) report_bad_index(error, code);
          continue;
        }
        const size_t slot = size_t(block) * size_t(a.block_size) + size_t(p % a.block_size);
        const uint8_t* kr = k + (slot * size_t(a.n_kv_head) + size_t(kvh)) * head_bytes;
        float dot = 0.0f;
        for (int t = 0; t < kPerLane; ++t) {
          const int64_t c = lane + 32 * t;
          if (c < a.d) dot += q[t] * load_element<KV>(kr, c);
        }
        const float score = capped_score(warp_sum(dot) * a.scale, a.softcap);
        if (score > max) {
          const float rescale = expf(max - score);  // 0 for the first visible key
          sum *= rescale;
          for (int t = 0; t < kPerLane; ++t) acc[t] *= rescale;
          max = score;
        }
        const float pr = expf(score - max);
        sum += pr;
        const uint8_t* vr = v + (slot * size_t(a.n_kv_head) + size_t(kvh)) * head_bytes;
        for (int t = 0; t < kPerLane; ++t) {
          const int64_t c = lane + 32 * t;
          if (c < a.d) acc[t] += pr * load_element<KV>(vr, c);
        }
      }
    }
    for (int t = 0; t < kPerLane; ++t) {
      const int64_t c = lane + 32 * t;
      if (c < a.d) a.out[item * a.d + c] = sum > 0.0f ? acc[t] / sum : 0.0f;  // nothing visible: zeros
    }
  }
}

}  // namespace

void launch_paged_attention(const Launch& l, const PagedAttentionArgs& a) {
  const unsigned grid = grid_for(a.m * a.n_head, kWarpsPerBlock);
  if (a.kv_type == DType::F16) {
    paged_attention_kernel<DType::F16><<<grid, kBlock, 0, l.stream>>>(a, l.error, l.error_code);
  } else {
    paged_attention_kernel<DType::F32><<<grid, kBlock, 0, l.stream>>>(a, l.error, l.error_code);
  }
}

}  // namespace vkgraph::cuda
